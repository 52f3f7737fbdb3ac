package nin_test

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"hpsandbox/connectors/nin"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fixtures"
)

// Numbers used below. The "real-looking" ones are well formed with an
// ordinary month; they are made up, not anyone's on purpose.
const (
	realLike  = "05073500186" // the VKP guide's example number: ordinary month
	dRealLike = "45073500186"
)

func TestSynthetic(t *testing.T) {
	tests := []struct {
		name, id string
		allow    []string
		ok       bool
		reason   string
	}{
		{"month+80 fødselsnummer", valid("0181", "80"), nil, true, ""},
		{"month+40 fødselsnummer", valid("1545", "99"), nil, true, ""},
		{"D-number with synthetic month", valid("4581", "85"), nil, true, ""},
		{"ordinary month refused", realLike, nil, false, "ordinary month"},
		{"D-number with ordinary month refused", valid("4507", "35"), nil, false, "ordinary month"},
		{"allow-listed real-looking", realLike, []string{realLike}, true, ""},
		{"ten digits", "0181801234", nil, false, "not 11 digits"},
		{"letters", "0181801234x", nil, false, "not 11 digits"},
		{"month 00", "01008012345", nil, false, "not a month"},
		{"month 93", "01938012345", nil, false, "not a month"},
		{"day 00", valid("0081", "80"), nil, false, "day"},
		{"31 April (+80)", valid("3184", "80"), nil, false, "day"},
		{"first control digit wrong", flip(valid("0181", "80"), 9), nil, false, "control digit"},
		{"second control digit wrong", flip(valid("0181", "80"), 10), nil, false, "second control digit"},
		{"empty", "", nil, false, "not 11 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := nin.Synthetic(tt.id, tt.allow)
			if ok != tt.ok || !strings.Contains(reason, tt.reason) {
				t.Fatalf("Synthetic(%q) = %v, %q; want %v, reason containing %q", tt.id, ok, reason, tt.ok, tt.reason)
			}
			if len(tt.id) == 11 && strings.Contains(reason, tt.id) {
				t.Fatalf("reason %q repeats the number", reason)
			}
		})
	}
}

// valid completes ddmm and yy to an 11-digit number with right control
// digits, trying individual numbers until both digits exist.
func valid(ddmm, yy string) string {
	for ind := 100; ind < 500; ind++ {
		s := ddmm + yy + itoa3(ind)
		d := digits(s)
		k1 := mod11(d, []int{3, 7, 6, 1, 8, 9, 4, 5, 2})
		if k1 < 0 {
			continue
		}
		d = append(d, k1)
		k2 := mod11(d, []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
		if k2 < 0 {
			continue
		}
		return s + string(rune('0'+k1)) + string(rune('0'+k2))
	}
	panic("no valid number for " + ddmm + yy)
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

func digits(s string) []int {
	d := make([]int, len(s))
	for i := range s {
		d[i] = int(s[i] - '0')
	}
	return d
}

func mod11(d, w []int) int {
	sum := 0
	for i, x := range w {
		sum += d[i] * x
	}
	k := 11 - sum%11
	if k == 11 {
		return 0
	}
	if k == 10 {
		return -1
	}
	return k
}

func flip(s string, i int) string {
	b := []byte(s)
	b[i] = '0' + (b[i]-'0'+1)%10
	return string(b)
}

func TestSynthetic_EveryFixtureNumberPasses(t *testing.T) {
	rs, err := fixtures.Generate(fixtures.Options{Patients: 300, Seed: 3, Personas: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rs {
		if r.Type != "Patient" {
			continue
		}
		var p struct {
			Identifier []struct{ System, Value string } `json:"identifier"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		for _, id := range p.Identifier {
			if id.System != nin.SystemFNR && id.System != nin.SystemDNR {
				continue
			}
			n++
			if ok, reason := nin.Synthetic(id.Value, nil); !ok {
				t.Errorf("Patient/%s: fixture number refused: %s", r.ID, reason)
			}
		}
		if e := nin.Check(r.Body, nil); e != nil {
			t.Errorf("Patient/%s: Check refused a fixture patient: %v", r.ID, e)
		}
	}
	if n < 300 {
		t.Fatalf("only %d identity numbers among the fixtures", n)
	}
}

func TestCheck(t *testing.T) {
	good := valid("0181", "80")
	bundle := func(values ...string) string {
		var entries []string
		for _, v := range values {
			entries = append(entries, `{"resource":{"resourceType":"Encounter","subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"`+v+`"}}}}`)
		}
		return `{"resourceType":"Bundle","type":"transaction","entry":[` + strings.Join(entries, ",") + `]}`
	}
	tests := []struct {
		name     string
		doc      string
		allow    []string
		category outcome.Category
		where    []string
	}{
		{"all synthetic", bundle(good, good), nil, "", nil},
		{"no identity numbers", `{"resourceType":"Observation","status":"final"}`, nil, "", nil},
		{"other identifier systems ignored", `{"resourceType":"Practitioner","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.4","value":"05073500186"}]}`, nil, "", nil},
		{"real-looking in second entry", bundle(good, realLike), nil, outcome.Unprocessable,
			[]string{"Bundle.entry[1].resource.subject.identifier.value"}},
		{"allow-listed", bundle(realLike), []string{realLike}, "", nil},
		{"D-number system", `{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.2","value":"` + dRealLike + `"}]}`, nil,
			outcome.Unprocessable, []string{"Patient.identifier[0].value"}},
		{"contained resource", `{"resourceType":"Observation","contained":[{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"` + realLike + `"}]}]}`, nil,
			outcome.Unprocessable, []string{"Observation.contained[0].identifier[0].value"}},
		{"number as a JSON number", `{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":5073500186}]}`, nil,
			outcome.Unprocessable, []string{"Patient.identifier[0].value"}},
		{"crafted key is quoted", `{"resourceType":"Patient","a.b":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"x"}}`, nil,
			outcome.Unprocessable, []string{`Patient."a.b".value`}},
		{"empty key is quoted", `{"resourceType":"Patient","":[[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"x"}]]}`, nil,
			outcome.Unprocessable, []string{`Patient.""[0][0].value`}},
		{"not JSON", `{"resourceType":`, nil, outcome.Incorrect, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nin.Check([]byte(tt.doc), tt.allow)
			if tt.category == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Category != tt.category {
				t.Fatalf("Check = %v, want category %s", err, tt.category)
			}
			var where []string
			for _, is := range err.Issues {
				where = append(where, is.Expression...)
				if strings.Contains(is.Diagnostics, realLike) || strings.Contains(is.Diagnostics, dRealLike) {
					t.Errorf("diagnostics repeat the number: %s", is.Diagnostics)
				}
			}
			if tt.where != nil && strings.Join(where, "|") != strings.Join(tt.where, "|") {
				t.Errorf("locations %q, want %q", where, tt.where)
			}
			if tt.category == outcome.Unprocessable && interaction.Status(err) != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422", interaction.Status(err))
			}
		})
	}
}

func TestCheck_ManyOffendersCapped(t *testing.T) {
	var ids []string
	for range nin.MaxIssues + 5 {
		ids = append(ids, `{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"`+realLike+`"}`)
	}
	err := nin.Check([]byte(`{"resourceType":"Patient","identifier":[`+strings.Join(ids, ",")+`]}`), nil)
	if err == nil || len(err.Issues) != nin.MaxIssues+1 {
		t.Fatalf("Check = %v; want %d issues", err, nin.MaxIssues+1)
	}
}

var elevenDigits = regexp.MustCompile(`[0-9]{11}`)

func FuzzCheck(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"05073500186"}]}}]}`))
	f.Add([]byte(`{"system":"urn:oid:2.16.578.1.12.4.1.4.2","value":"45073500186"}`))
	f.Add([]byte(`[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":null}]`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := nin.Check(doc, nil)
		if err == nil {
			return
		}
		if len(err.Issues) == 0 || len(err.Issues) > nin.MaxIssues+1 {
			t.Fatalf("%d issues", len(err.Issues))
		}
		for _, is := range err.Issues {
			// A diagnostic is the package's own text: it never holds a
			// number from the document (expressions hold only keys).
			if elevenDigits.MatchString(is.Diagnostics) {
				t.Fatalf("diagnostics hold 11 digits: %s", is.Diagnostics)
			}
		}
	})
}

func FuzzSynthetic(f *testing.F) {
	for _, s := range []string{realLike, valid("0181", "80"), "", "4581850000x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ok, reason := nin.Synthetic(id, nil)
		if ok == (reason != "") {
			t.Fatalf("Synthetic(%q) = %v, %q", id, ok, reason)
		}
		if ok && (len(id) != 11 || id[2] == '0' || id[2] == '1') {
			t.Fatalf("Synthetic(%q) passed an ordinary month", id)
		}
		if len(id) == 11 && strings.Contains(reason, id) {
			t.Fatalf("reason repeats the number")
		}
	})
}

// BenchmarkCheck scans a VKP alarm (a Bundle of three resources naming
// the person by identity number) for identity numbers.
//
//	go test -run '^$' -bench Check -benchtime 2s ./connectors/nin
func BenchmarkCheck(b *testing.B) {
	doc, err := os.ReadFile("../vkp/testdata/alarm.json")
	if err != nil {
		b.Fatal(err)
	}
	if err := nin.Check(doc, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = nin.Check(doc, nil)
	}
}
