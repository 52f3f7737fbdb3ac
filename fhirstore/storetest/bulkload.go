package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fixtures"
)

// ordinary hides a store's bulk path (fhirstore.BulkLoader), so that a load
// into it takes the ordinary one.
type ordinary struct{ fhirstore.Store }

// BulkLoad checks a store's bulk path (fhirstore.BulkLoader): a sandbox
// filled by fhirstore.LoadResources into an empty sandbox answers exactly as
// one filled the ordinary way, resource by resource — the same matches and
// totals for searches of every kind of parameter, _include and _has, the
// same history, the same meta.lastUpdated — also when the input names a
// resource again (the next version) and when the store already holds another
// sandbox. The store must implement BulkLoader; newStore gives fresh ones.
func BulkLoad(t *testing.T, newStore Factory) {
	ctx := context.Background()
	var input []*fhirjson.Resource
	err := fixtures.Stream(fixtures.Options{Seed: 3, Patients: 40, Personas: true}, func(rs []fixtures.Resource) error {
		for _, r := range rs {
			input = append(input, &fhirjson.Resource{Type: r.Type, ID: r.ID, Body: r.Body})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A resource named three times, twice in a row (one transaction, one
	// statement of a store that inserts many at once) and once at the end,
	// gets three versions.
	var patient *fhirjson.Resource
	for i, r := range input {
		if r.Type == "Patient" {
			patient = r
			input = append(input[:i+1], input[i:]...)
			break
		}
	}
	input = append(input, patient)

	// A fixed clock: both loads stamp the same instants.
	fixed := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	bulk := newStore(t, fixed)
	defer bulk.Close()
	if _, ok := bulk.(fhirstore.BulkLoader); !ok {
		t.Fatalf("%T does not implement fhirstore.BulkLoader", bulk)
	}
	plain := newStore(t, fixed)
	defer plain.Close()

	for _, sb := range []fhirstore.Sandbox{"first", "second"} {
		for _, s := range []fhirstore.Store{bulk, ordinary{plain}} {
			n, err := fhirstore.LoadResources(ctx, s, sb, pieces(input, 500), fhirstore.LoadOptions{Batch: 300})
			if err != nil || n != len(input) {
				t.Fatalf("load into %s: %d of %d, %v", sb, n, len(input), err)
			}
		}
		// Once the sandbox holds something, a load takes the ordinary path.
		if b, ok, err := bulk.(fhirstore.BulkLoader).BeginBulk(ctx, sb); err != nil || ok || b != nil {
			t.Errorf("BeginBulk of a filled sandbox %s: ok %v, %v", sb, ok, err)
		}
		sameAnswers(t, bulk, plain, sb, patient.ID)
	}
}

// pieces hands rs over n at a time.
func pieces(rs []*fhirjson.Resource, n int) func() ([]*fhirjson.Resource, error) {
	return func() ([]*fhirjson.Resource, error) {
		if len(rs) == 0 {
			return nil, nil
		}
		p := rs[:min(n, len(rs))]
		rs = rs[len(p):]
		return p, nil
	}
}

// bulkSearches are searches of every kind of parameter over the fixtures.
var bulkSearches = []struct{ typ, query string }{
	{"Patient", "name=a&_total=accurate"},
	{"Patient", "family:contains=sen&_total=accurate"},
	{"Patient", "gender=female&_total=accurate"},
	{"Patient", "birthdate=lt1970&_sort=birthdate&_total=accurate"},
	{"Patient", "_sort=-family,given&_count=30"},
	{"Observation", "subject=Patient/{patient}&_total=accurate"},
	{"Observation", "date=ge2020-01-01&_sort=-date&_count=40&_total=accurate"},
	{"Observation", "value-quantity=gt50&_total=accurate"},
	{"Observation", "status=final&_include=Observation:subject&_count=25"},
	{"Encounter", "_sort=date&_count=50"},
	{"Organization", "_lastUpdated=ge2026-03-01&_total=accurate"},
	{"Patient", "_has:Observation:subject:status=final&_count=20"},
	{"Patient", "_id={patient}&_revinclude=Encounter:subject"},
}

// sameAnswers compares what two stores answer about sandbox.
func sameAnswers(t *testing.T, a, b fhirstore.Store, sb fhirstore.Sandbox, patientID string) {
	t.Helper()
	ctx := context.Background()
	for _, c := range bulkSearches {
		query := strings.ReplaceAll(c.query, "{patient}", patientID)
		q := parseSearch(t, c.typ, query)
		pa, err := a.Search(ctx, sb, fhirstore.SearchQuery{Type: c.typ, Query: q})
		if err != nil {
			t.Fatalf("%s?%s: %v", c.typ, query, err)
		}
		pb, err := b.Search(ctx, sb, fhirstore.SearchQuery{Type: c.typ, Query: q})
		if err != nil {
			t.Fatalf("%s?%s: %v", c.typ, query, err)
		}
		if got, want := summary(pa), summary(pb); got != want {
			t.Errorf("%s %s?%s:\nbulk     %s\nordinary %s", sb, c.typ, query, got, want)
		}
		if len(pa.Matches) == 0 && !strings.Contains(query, "lt1970") {
			t.Errorf("%s %s?%s matches nothing: a search that tells nothing apart", sb, c.typ, query)
		}
	}
	for _, hq := range []fhirstore.HistoryQuery{
		{Count: 1000},
		{Type: "Patient", Count: 1000},
		{Type: "Patient", ID: patientID, Count: 10},
	} {
		ha, err := a.History(ctx, sb, hq)
		if err != nil {
			t.Fatal(err)
		}
		hb, err := b.History(ctx, sb, hq)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := versions(ha.Versions), versions(hb.Versions); ha.Total != hb.Total || got != want {
			t.Errorf("%s history %+v: bulk %d %s\nordinary %d %s", sb, hq, ha.Total, got, hb.Total, want)
		}
		if hq.ID != "" && ha.Total != 3 {
			t.Errorf("%s history of Patient/%s: %d versions, want 3", sb, patientID, ha.Total)
		}
	}
}

// summary is a search page in words: its total, and every match and
// inclusion with its version, time and body.
func summary(p *fhirstore.SearchPage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "total %d; matches %s; included %s", p.Total, versions(p.Matches), versions(p.Included))
	return b.String()
}

func versions(rs []*fhirstore.Resource) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s/%s/%d@%s:%s:%x ", r.Type, r.ID, r.Version, r.LastUpdated.Format(time.RFC3339Nano), r.Method, hash(r.Body))
	}
	return b.String()
}

// hash is a short digest of a body (FNV-1a), to keep a difference readable.
func hash(body []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range body {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// BenchBulkLoad measures fhirstore.LoadResources of b.N resources into an
// empty sandbox, on the store's bulk path or, with bulk false, the
// ordinary one.
func BenchBulkLoad(b *testing.B, s fhirstore.Store, bulk bool) {
	ctx := context.Background()
	rs := make([]*fhirjson.Resource, b.N)
	for i := range rs {
		o := BenchObservation(i)
		r, err := fhirjson.Parse(append([]byte(fmt.Sprintf(`{"id":"o%d",`, i)), o[1:]...))
		if err != nil {
			b.Fatal(err)
		}
		rs[i] = r
	}
	if !bulk {
		s = ordinary{s}
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := fhirstore.LoadResources(ctx, s, "bench", pieces(rs, 1000), fhirstore.LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "resources/s")
}
