package portal

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func parseObs(t testing.TB, bodies ...string) []*observation {
	t.Helper()
	var out []*observation
	for _, b := range bodies {
		var o observation
		if err := json.Unmarshal([]byte(b), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, &o)
	}
	return out
}

const vital = `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],`

func TestTrends_PlotsCodesWithTwoValuesOrMore(t *testing.T) {
	obs := parseObs(t,
		vital+`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}],"text":"Puls"},"effectiveDateTime":"2026-01-01T08:00:00Z","valueQuantity":{"value":70,"unit":"/min"}}`,
		vital+`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}],"text":"Puls"},"effectiveDateTime":"2026-01-02T08:00:00Z","valueQuantity":{"value":90,"unit":"/min"}}`,
		// One value only: no plot.
		vital+`"code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}],"text":"Temp"},"effectiveDateTime":"2026-01-02T08:00:00Z","valueQuantity":{"value":37,"unit":"Cel"}}`,
		// A laboratory value with its own reference range.
		`{"resourceType":"Observation","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"CRP"},"effectiveDateTime":"2026-01-01","valueQuantity":{"value":3,"unit":"mg/L"},"referenceRange":[{"high":{"value":5}}]}`,
		`{"resourceType":"Observation","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],"code":{"text":"CRP"},"effectiveDateTime":"2026-02-01","valueQuantity":{"value":30,"unit":"mg/L"}}`,
		// Blood pressure: two series from the components.
		vital+`"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"BT"},"effectiveDateTime":"2026-01-01T08:00:00Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":140,"unit":"mmHg"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":90,"unit":"mmHg"}}]}`,
		vital+`"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"BT"},"effectiveDateTime":"2026-01-05T08:00:00Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":130,"unit":"mmHg"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":85,"unit":"mmHg"}}]}`,
		// An exam finding is not plotted.
		`{"resourceType":"Observation","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"exam"}]}],"code":{"text":"FEV1"},"effectiveDateTime":"2026-01-01","valueQuantity":{"value":3}}`,
		`{"resourceType":"Observation","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"exam"}]}],"code":{"text":"FEV1"},"effectiveDateTime":"2026-02-01","valueQuantity":{"value":3.2}}`,
	)
	got := trends(obs)
	var titles []string
	for _, tr := range got {
		titles = append(titles, tr.Title)
	}
	if strings.Join(titles, ",") != "BT,CRP,Puls" {
		t.Fatalf("plots %v, want BT, CRP and Puls", titles)
	}
	for want, in := range map[string]string{
		"systolic": got[0].SVG, "diastolic": got[0].SVG,
		"reference range ≤ 5":      got[1].SVG,
		"usual adult range 60–100": got[2].SVG,
	} {
		if !strings.Contains(in, want) {
			t.Errorf("plot lacks %q", want)
		}
	}
}

func TestShortTime(t *testing.T) {
	for in, want := range map[string]string{
		"2026-01-02": "2026-01-02", "2026-01-02T08:09:10+02:00": "2026-01-02 06:09", "2026": "2026", "not a time at all": "not a time at all",
	} {
		if got := shortTime(in); got != want {
			t.Errorf("shortTime(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzTrends: whatever Observations an app wrote to its sandbox, the chart
// page's plots are well-formed XML and nothing panics.
func FuzzTrends(f *testing.F) {
	f.Add(vital+`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}],"text":"<b>"},"effectiveDateTime":"2026-01-01T08:00:00Z","valueQuantity":{"value":70,"unit":"&"}}`,
		vital+`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"effectiveDateTime":"2026","valueQuantity":{"value":1e308},"referenceRange":[{"low":{"value":-1e308}}]}`)
	f.Add(vital+`"code":{},"component":[{"code":{},"valueQuantity":{"value":1}}],"effectiveDateTime":"2026-01-01"}`, `{}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		var obs []*observation
		for _, body := range []string{a, b, a} {
			var o observation
			if json.Unmarshal([]byte(body), &o) == nil {
				obs = append(obs, &o)
				_ = o.valueText()
			}
		}
		for _, tr := range trends(obs) {
			dec := xml.NewDecoder(strings.NewReader(tr.SVG))
			for {
				_, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("plot not well-formed: %v\n%s", err, tr.SVG)
				}
			}
		}
	})
}
