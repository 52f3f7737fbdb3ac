package sqlstore_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/postgres"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/internal/testpg"
)

// The search benchmark's data set: benchPatients patients, each with
// benchObsPerPatient observations and a RiskAssessment, 100,000 resources
// in all; -search.patients chooses another size (20000 for a million).
const (
	benchObsPerPatient = 48
	benchSandbox       = "bench"
)

var (
	benchPatients = 2000
	benchDir      string
)

func init() {
	flag.IntVar(&benchPatients, "search.patients", benchPatients,
		"patients of the search benchmarks' data set, each with 48 observations and a risk assessment")
	flag.StringVar(&benchDir, "search.dir", "",
		"directory of the search benchmarks' SQLite store, kept after the run: a store already "+
			"holding the data set (as -search.patients makes it) is searched without loading it again")
}

var benchCodes = []struct{ code, display, unit string }{
	{"8867-4", "Heart rate", "/min"}, {"8480-6", "Systolic blood pressure", "mm[Hg]"},
	{"8462-4", "Diastolic blood pressure", "mm[Hg]"}, {"29463-7", "Body weight", "kg"},
	{"8302-2", "Body height", "cm"}, {"8310-5", "Body temperature", "Cel"},
	{"9279-1", "Respiratory rate", "/min"}, {"2708-6", "Oxygen saturation", "%"},
	{"39156-5", "Body mass index", "kg/m2"}, {"48767-8", "Annotation comment", ""},
}

var benchFamilies = func() []string {
	stems := []string{"Nordmann", "Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen", "Jensen",
		"Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen"}
	var out []string
	for _, s := range stems {
		for _, suffix := range []string{"", "-Bakke", "-Dahl", "-Lund", "-Moen", "-Strand", "-Holm", "-Aas", "-Vik", "-Foss"} {
			out = append(out, s+suffix)
		}
	}
	return out // 200 families, 10 patients each
}()

// benchBackends are the backends the search benchmarks compare, on the
// same data set in the same run.
var benchBackends = []string{"sqlite", "postgres"}

type loadedStore struct {
	once sync.Once
	dir  string
	s    *sqlstore.Store
	err  error
	load time.Duration
}

var benchStores = map[string]*loadedStore{"sqlite": {}, "postgres": {}}

// TestMain removes the benchmarks' databases after the run, and stops the
// PostgreSQL server if they started one.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, ls := range benchStores {
		if ls.s != nil {
			ls.s.Close()
		}
		if ls.dir != "" {
			os.RemoveAll(ls.dir)
		}
	}
	if err := testpg.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// openBenchStore loads the data set into the backend once per test process.
func openBenchStore(b *testing.B, backend string) *sqlstore.Store {
	benchStore := benchStores[backend]
	dsn := ""
	if backend == "postgres" {
		dsn = testpg.StartShared(b) // skips b without PostgreSQL
	}
	benchStore.once.Do(func() {
		ctx := context.Background()
		var s *sqlstore.Store
		var err error
		if backend == "postgres" {
			s, err = postgres.Open(ctx, dsn, sqlstore.Options{})
		} else if benchDir != "" {
			s, err = sqlite.Open(ctx, benchDir, sqlstore.Options{})
		} else {
			benchStore.dir, err = os.MkdirTemp("", "searchbench")
			if err == nil {
				s, err = sqlite.Open(ctx, benchStore.dir, sqlstore.Options{})
			}
		}
		if err != nil {
			benchStore.err = err
			return
		}
		if backend == "sqlite" && benchDir != "" && benchLoaded(ctx, s) {
			benchStore.s = s
			return
		}
		start := time.Now()
		// In transactions of 1,000 resources, as fhirstore.Load writes:
		// between them PostgreSQL's statistics follow the data.
		const perTx = 20 // patients, each with 50 resources
		for first := 0; first < benchPatients && benchStore.err == nil; first += perTx {
			benchStore.err = s.Tx(ctx, func(tx fhirstore.Tx) error {
				for p := first; p < min(first+perTx, benchPatients); p++ {
					if err := benchCreate(ctx, tx, benchPatient(p)); err != nil {
						return err
					}
					for o := 0; o < benchObsPerPatient; o++ {
						if err := benchCreate(ctx, tx, benchObservation(p, o)); err != nil {
							return err
						}
					}
					if err := benchCreate(ctx, tx, benchRiskAssessment(p)); err != nil {
						return err
					}
				}
				return nil
			})
		}
		benchStore.load = time.Since(start)
		benchStore.s = s
		n := benchPatients * (2 + benchObsPerPatient)
		fmt.Printf("search benchmark: %s loaded %d resources in %v (%.0f/s)\n", backend, n,
			benchStore.load.Round(time.Millisecond), float64(n)/benchStore.load.Seconds())
	})
	if benchStore.err != nil {
		b.Fatal(benchStore.err)
	}
	return benchStore.s
}

// benchLoaded reports whether s holds the data set already: its last
// patient and that patient's risk assessment, the last resource loaded.
func benchLoaded(ctx context.Context, s *sqlstore.Store) bool {
	_, err := s.Read(ctx, benchSandbox, "RiskAssessment", fmt.Sprintf("ra%d", benchPatients-1))
	return err == nil
}

func benchCreate(ctx context.Context, tx fhirstore.Tx, body string) error {
	r, err := fhirjson.Parse([]byte(body))
	if err != nil {
		return fmt.Errorf("%w: %s", err, body)
	}
	_, _, err = tx.Update(ctx, benchSandbox, r, fhirstore.UpdateOptions{})
	return err
}

func benchPatient(p int) string {
	return fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"%011d"}],`+
		`"name":[{"family":%q,"given":["Given%d"]}],"gender":%q,"birthDate":"%d-%02d-%02d"}`,
		p, 10000000000+p, benchFamilies[p%len(benchFamilies)], p, []string{"female", "male"}[p%2], 1930+p%80, 1+p%12, 1+p%28)
}

// benchObservation is a vital sign with a value, or (one in ten) a comment
// with a text; each code has its own profile.
func benchObservation(p, o int) string {
	c := benchCodes[o%len(benchCodes)]
	// Spread over 2,000 days: about 50 observations a day.
	day := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (p*benchObsPerPatient+o)%2000)
	value := fmt.Sprintf(`"valueQuantity":{"value":%d,"unit":%q,"system":"http://unitsofmeasure.org","code":%q}`, 40+(p+o)%100, c.unit, c.unit)
	if c.unit == "" {
		value = fmt.Sprintf(`"valueString":"Comment %05d"`, (p*7919+o)%100000)
	}
	return fmt.Sprintf(`{"resourceType":"Observation","id":"o%d-%d","meta":{"profile":["http://example.org/fhir/StructureDefinition/obs-%s"]},"status":"final",`+
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],`+
		`"code":{"coding":[{"system":"http://loinc.org","code":%q,"display":%q}]},"subject":{"reference":"Patient/p%d"},`+
		`"effectiveDateTime":"%sT%02d:%02d:00Z",%s}`,
		p, o, c.code, c.code, c.display, p, day.Format("2006-01-02"), o%24, (p+o)%60, value)
}

func benchRiskAssessment(p int) string {
	return fmt.Sprintf(`{"resourceType":"RiskAssessment","id":"ra%d","status":"final","subject":{"reference":"Patient/p%d"},`+
		`"prediction":[{"probabilityDecimal":%.3f}]}`, p, p, float64((p*7919)%1000)/1000)
}

// BenchmarkSearch reports p50 and p99 latency of typical searches over
// 100,000 resources, each with _count=50, through the store (no HTTP).
func BenchmarkSearch(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend, func(b *testing.B) { benchSearch(b, openBenchStore(b, backend)) })
	}
}

func benchSearch(b *testing.B, s *sqlstore.Store) {
	queries := []struct {
		name, typ string
		query     func(i int) string
	}{
		{"Token", "Observation", func(i int) string {
			return "code=http://loinc.org|" + benchCodes[i%len(benchCodes)].code
		}},
		{"Reference", "Observation", func(i int) string { return fmt.Sprintf("subject=Patient/p%d", (i*7919)%benchPatients) }},
		{"DateRange", "Observation", func(i int) string {
			d := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*37)%2000)
			return "date=ge" + d.Format("2006-01-02") + "&date=lt" + d.AddDate(0, 0, 1).Format("2006-01-02")
		}},
		{"String", "Patient", func(i int) string {
			f := benchFamilies[(i*13)%len(benchFamilies)]
			return "name=" + f[:min(5, len(f))]
		}},
		{"Chain", "Observation", func(i int) string {
			return "subject:Patient.name=" + url.QueryEscape(benchFamilies[(i*17)%len(benchFamilies)])
		}},
		// A chain to a thousand patients, half of them: what a common
		// family name is in a large sandbox.
		{"ChainCommon", "Observation", func(i int) string {
			return "subject:Patient.gender=" + []string{"female", "male"}[i%2]
		}},
		// A chain with broad filters beside it: a tenth of the
		// observations have the code (given without its system, so its
		// index cannot drive a page alone), most fall in the date range.
		{"ChainFiltered", "Observation", func(i int) string {
			return "subject:Patient.name=" + url.QueryEscape(benchFamilies[(i*17)%len(benchFamilies)]) +
				"&code=" + benchCodes[i%len(benchCodes)].code + "&date=ge2021-01-01"
		}},
		// Two broad filters: each keeps a large share of the observations
		// (a code without its system, a date range of years).
		{"Broad", "Observation", func(i int) string {
			return "code=" + benchCodes[i%len(benchCodes)].code + "&date=ge" + fmt.Sprint(2019+i%3) + "-01-01"
		}},
		{"Include", "Observation", func(i int) string {
			return "code=http://loinc.org|" + benchCodes[i%len(benchCodes)].code + "&_include=Observation:subject"
		}},
	}
	ctx := context.Background()
	for _, bq := range queries {
		b.Run(bq.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				v, _ := url.ParseQuery(bq.query(i) + "&_count=50")
				q, err := search.Parse(bq.typ, v, search.Options{})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				p, err := s.Search(ctx, benchSandbox, fhirstore.SearchQuery{Query: q})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Matches) == 0 {
					b.Fatalf("%s?%s matched nothing", bq.typ, bq.query(i))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkSearch_SortFirstPage reports the latency of the first page
// (_count=50) of a search sorted by one parameter of each kind, over every
// resource of the type: 98,000 Observations and 2,000 RiskAssessments in
// the default data set.
func BenchmarkSearch_SortFirstPage(b *testing.B) {
	for _, backend := range benchBackends {
		b.Run(backend, func(b *testing.B) { benchSortFirstPage(b, openBenchStore(b, backend)) })
	}
}

func benchSortFirstPage(b *testing.B, s *sqlstore.Store) {
	sorts := []struct{ name, typ, sort string }{
		{"Token", "Observation", "code"},
		{"TokenDesc", "Observation", "-code"},
		{"Quantity", "Observation", "value-quantity"},
		{"QuantityDesc", "Observation", "-value-quantity"},
		{"Number", "RiskAssessment", "probability"},
		{"URI", "Observation", "_profile"},
		{"String", "Observation", "value-string"},
		{"Date", "Observation", "date"},
		{"DateDesc", "Observation", "-date"},
		{"Reference", "Observation", "subject"},
		{"LastUpdated", "Observation", "-_lastUpdated"},
	}
	ctx := context.Background()
	for _, bs := range sorts {
		b.Run(bs.name, func(b *testing.B) {
			v := url.Values{"_sort": {bs.sort}, "_count": {"50"}}
			var lat []time.Duration
			for b.Loop() {
				q, err := search.Parse(bs.typ, v, search.Options{})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				p, err := s.Search(ctx, benchSandbox, fhirstore.SearchQuery{Query: q})
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Matches) != 50 {
					b.Fatalf("%s?_sort=%s: %d matches on the first page", bs.typ, bs.sort, len(p.Matches))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		})
	}
}
