package fhirapi_test

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

func TestEverything_PatientAndCompartmentPagedAndFiltered(t *testing.T) {
	e, _ := newEngine(t)
	exportSeed(t, e) // Patient a (Observation oa, Group g), Patient b (ob), Organization org, Observation none
	type page struct {
		Total int
		Link  []struct{ Relation, URL string }
		Entry []struct {
			FullURL string
			Search  struct{ Mode string }
		}
	}
	all := func(path string) []string {
		var ids []string
		for next := path; next != ""; {
			var p page
			decode(t, mustDo(t, e, call{method: "GET", path: next}, http.StatusOK), &p)
			next = ""
			for _, en := range p.Entry {
				if en.Search.Mode == "match" {
					i := strings.Index(en.FullURL, "/fhir/")
					ids = append(ids, en.FullURL[i+len("/fhir/"):])
				}
			}
			for _, l := range p.Link {
				if l.Relation == "next" {
					u, _ := url.Parse(l.URL)
					next = u.RequestURI()
				}
			}
		}
		sort.Strings(ids)
		return ids
	}
	tests := []struct{ path, want string }{
		{"/fhir/Patient/a/$everything", "Group/g Observation/oa Patient/a"},
		{"/fhir/Patient/a/$everything?_count=1", "Group/g Observation/oa Patient/a"},
		{"/fhir/Patient/a/$everything?_type=Observation", "Observation/oa"},
		{"/fhir/Patient/b/$everything", "Observation/ob Patient/b"},
		{"/fhir/Patient/a/$everything?_type=Organization", ""},
		{"/fhir/Patient/a/$everything?_since=2999-01-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := strings.Join(all(tt.path), " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	for path, want := range map[string]int{
		"/fhir/Patient/nobody/$everything":       404,
		"/fhir/Patient/a/$everything?_type=Nope": 400,
		"/fhir/Patient/a/$everything?name=x":     400,
		"/fhir/Observation/oa/$everything":       404,
	} {
		if rec := do(t, e, call{method: "GET", path: path}); rec.Code != want {
			t.Errorf("%s: %d, want %d %s", path, rec.Code, want, rec.Body)
		}
	}
}
