package fhirapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/fhirapi"
)

// everythingRecord stores Patient/a's record: its compartment, what that
// references (a Device, practitioners, organisations, locations, a
// Medication, another patient and that patient's Observation), a resource
// only the Device references, a dangling and a deleted reference.
func everythingRecord(t *testing.T, e http.Handler) {
	t.Helper()
	for _, c := range []call{
		{method: "PUT", path: "/fhir/Organization/org", body: `{"resourceType":"Organization","id":"org","name":"Fiktiv kommune"}`},
		{method: "PUT", path: "/fhir/Organization/devorg", body: `{"resourceType":"Organization","id":"devorg","name":"Hjelpemiddelsentralen"}`},
		{method: "PUT", path: "/fhir/Practitioner/gp", body: `{"resourceType":"Practitioner","id":"gp"}`},
		{method: "PUT", path: "/fhir/Practitioner/gp2", body: `{"resourceType":"Practitioner","id":"gp2"}`},
		{method: "PUT", path: "/fhir/Practitioner/gone", body: `{"resourceType":"Practitioner","id":"gone"}`},
		{method: "PUT", path: "/fhir/Location/ward", body: `{"resourceType":"Location","id":"ward"}`},
		{method: "PUT", path: "/fhir/Location/home", body: `{"resourceType":"Location","id":"home"}`},
		{method: "PUT", path: "/fhir/Medication/med", body: `{"resourceType":"Medication","id":"med"}`},
		{method: "PUT", path: "/fhir/Device/oxi", body: `{"resourceType":"Device","id":"oxi","owner":{"reference":"Organization/devorg"}}`},
		{method: "PUT", path: "/fhir/Patient/b", body: `{"resourceType":"Patient","id":"b"}`},
		{method: "PUT", path: "/fhir/Observation/ob", body: `{"resourceType":"Observation","id":"ob","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/b"}}`},
		{method: "PUT", path: "/fhir/Patient/a", body: `{"resourceType":"Patient","id":"a","generalPractitioner":[{"reference":"Practitioner/gp"}],` +
			`"managingOrganization":{"reference":"Organization/org"},"link":[{"other":{"reference":"Patient/b"},"type":"seealso"}]}`},
		{method: "PUT", path: "/fhir/Observation/oa", body: `{"resourceType":"Observation","id":"oa","status":"final","code":{"text":"SpO2"},"subject":{"reference":"Patient/a"},` +
			`"device":{"reference":"Device/oxi"},"performer":[{"reference":"Practitioner/gp"},{"reference":"http://sandbox.test/fhir/Practitioner/gp2/_history/1"}],` +
			`"hasMember":[{"reference":"Observation/ob"}]}`},
		{method: "PUT", path: "/fhir/Observation/oa2", body: `{"resourceType":"Observation","id":"oa2","status":"final","code":{"text":"SpO2"},"subject":{"reference":"Patient/a"},` +
			`"device":{"reference":"Device/oxi"},"performer":[{"reference":"Practitioner/missing"},{"reference":"Practitioner/gone"},{"reference":"Organization/org"}]}`},
		{method: "PUT", path: "/fhir/Encounter/ea", body: `{"resourceType":"Encounter","id":"ea","status":"finished","class":{"code":"IMP"},"subject":{"reference":"Patient/a"},` +
			`"location":[{"location":{"reference":"Location/ward"}}],"hospitalization":{"origin":{"reference":"Location/home"}}}`},
		{method: "PUT", path: "/fhir/MedicationRequest/mr", body: `{"resourceType":"MedicationRequest","id":"mr","status":"active","intent":"order",` +
			`"medicationReference":{"reference":"Medication/med"},"subject":{"reference":"Patient/a"},"requester":{"reference":"Practitioner/gp"},"encounter":{"reference":"Encounter/ea"}}`},
	} {
		mustDo(t, e, c, http.StatusCreated)
	}
	mustDo(t, e, call{method: "DELETE", path: "/fhir/Practitioner/gone"}, http.StatusNoContent)
}

// everythingPages follows the next links of path and returns the entries'
// Type/id with their search mode ("match" or "include"), in order.
func everythingPages(t *testing.T, e http.Handler, path string) (ids []string, pages int) {
	t.Helper()
	for next := path; next != ""; pages++ {
		var p struct {
			Link  []struct{ Relation, URL string }
			Entry []struct {
				FullURL string
				Search  struct{ Mode string }
			}
		}
		decode(t, mustDo(t, e, call{method: "GET", path: next}, http.StatusOK), &p)
		next = ""
		for _, en := range p.Entry {
			ids = append(ids, en.Search.Mode+":"+en.FullURL[strings.Index(en.FullURL, "/fhir/")+len("/fhir/"):])
		}
		for _, l := range p.Link {
			if l.Relation == "next" {
				u, _ := url.Parse(l.URL)
				next = u.RequestURI()
			}
		}
		if pages > 50 {
			t.Fatal("paging does not end")
		}
	}
	return ids, pages
}

const (
	recordMatches  = "match:Patient/a match:Observation/oa match:Observation/oa2 match:Encounter/ea match:MedicationRequest/mr"
	recordIncludes = "include:Device/oxi include:Location/home include:Location/ward include:Medication/med include:Observation/ob " +
		"include:Organization/org include:Patient/b include:Practitioner/gp include:Practitioner/gp2"
)

// The next links carry on from the matches into the referenced resources
// (interaction.Engine.Everything's paging), keeping _type.
func TestEverything_NextLinksCarryOnIntoTheReferencedResources(t *testing.T) {
	e, _ := newEngine(t)
	everythingRecord(t, e)
	for query, want := range map[string]string{
		"?_count=2":                       recordMatches + " " + recordIncludes,
		"?_type=Location,Device&_count=1": "include:Device/oxi include:Location/home include:Location/ward",
	} {
		ids, _ := everythingPages(t, e, "/fhir/Patient/a/$everything"+query)
		if got := strings.Join(ids, " "); got != want {
			t.Errorf("%s: got  %s\nwant %s", query, got, want)
		}
	}
}

func TestEverything_ConfinedLeavesOutOtherCompartmentsButKeepsTheRecord(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{SearchTimeout: time.Minute}) // the budget is tested on its own (search_limits_test.go)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	api := fhirapi.New(store, fhirapi.Config{})
	t.Cleanup(func() { api.Close() })
	g := e.Group("/fhir", func(c *gin.Context) {
		if p := c.GetHeader("X-Test-Confine"); p != "" {
			c.Request = c.Request.WithContext(search.ConfineTo(c.Request.Context(), &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: p}}))
		}
	})
	api.Mount(g, func(*gin.Context) string { return fhirstore.DefaultSandbox })
	everythingRecord(t, e)
	confine := map[string]string{"X-Test-Confine": "a"}
	var ids []string
	for next := "/fhir/Patient/a/$everything?_count=3"; next != ""; {
		var p struct {
			Link  []struct{ Relation, URL string }
			Entry []struct{ FullURL string }
		}
		decode(t, mustDo(t, e, call{method: "GET", path: next, header: confine}, http.StatusOK), &p)
		next = ""
		for _, en := range p.Entry {
			ids = append(ids, en.FullURL[strings.Index(en.FullURL, "/fhir/")+len("/fhir/"):])
		}
		for _, l := range p.Link {
			if l.Relation == "next" {
				u, _ := url.Parse(l.URL)
				next = u.RequestURI()
			}
		}
	}
	want := "Patient/a Observation/oa Observation/oa2 Encounter/ea MedicationRequest/mr Device/oxi Location/home Location/ward Medication/med " +
		"Organization/org Practitioner/gp Practitioner/gp2"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/b/$everything", header: confine}, http.StatusForbidden)

	// Confined, _type of compartment types only cannot include anything,
	// so a page the matches fill is the last.
	var p struct{ Link []struct{ Relation string } }
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient/a/$everything?_type=Observation&_count=2", header: confine}, http.StatusOK), &p)
	for _, l := range p.Link {
		if l.Relation == "next" {
			t.Error("a next link after the last match, though nothing can follow")
		}
	}
}

func TestEverything_RefCursorMustBeOneOfItsOwn(t *testing.T) {
	e, _ := newEngine(t)
	everythingRecord(t, e)
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/a/$everything?_cursor=ref.!!"}, http.StatusBadRequest)
}

func TestEverything_ReferencedResourcesComeFromTheSameSandboxOnly(t *testing.T) {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{SearchTimeout: time.Minute}) // the budget is tested on its own (search_limits_test.go)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	api := fhirapi.New(store, fhirapi.Config{})
	t.Cleanup(func() { api.Close() })
	api.Mount(e.Group("/fhir"), func(c *gin.Context) string { return c.GetHeader("X-Test-Sandbox") })
	in := func(sb string, c call) call { c.header = map[string]string{"X-Test-Sandbox": sb}; return c }
	mustDo(t, e, in("other", call{method: "PUT", path: "/fhir/Practitioner/gp", body: `{"resourceType":"Practitioner","id":"gp"}`}), http.StatusCreated)
	mustDo(t, e, in("mine", call{method: "PUT", path: "/fhir/Patient/a", body: `{"resourceType":"Patient","id":"a","generalPractitioner":[{"reference":"Practitioner/gp"}]}`}), http.StatusCreated)
	rec := mustDo(t, e, in("mine", call{method: "GET", path: "/fhir/Patient/a/$everything"}), http.StatusOK)
	if strings.Contains(rec.Body.String(), `"fullUrl":"http://sandbox.test/fhir/Practitioner/gp"`) {
		t.Errorf("another sandbox's Practitioner was included: %s", rec.Body)
	}
	mustDo(t, e, in("mine", call{method: "PUT", path: "/fhir/Practitioner/gp", body: `{"resourceType":"Practitioner","id":"gp"}`}), http.StatusCreated)
	rec = mustDo(t, e, in("mine", call{method: "GET", path: "/fhir/Patient/a/$everything"}), http.StatusOK)
	if !strings.Contains(rec.Body.String(), `"fullUrl":"http://sandbox.test/fhir/Practitioner/gp"`) {
		t.Errorf("the sandbox's own Practitioner is missing: %s", rec.Body)
	}
}
