package portal

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

const chartPersona = "persona-heart-failure"

// TestPatientChart_ShowsSectionsPlotsAndURLs: the chart of a persona with
// daily weights and blood pressures has every section, a plot of each
// measure (blood pressure as systolic and diastolic), the persona's
// description and the URLs to copy.
func TestPatientChart_ShowsSectionsPlotsAndURLs(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	got := alice.get("/portal/sandboxes/" + acmeSandbox + "/patients/" + chartPersona)
	wantStatus(t, "chart", got, http.StatusOK)
	base := "http://127.0.0.1:8080/sandboxes/" + acmeSandbox + "/fhir"
	wantContains(t, "chart", got,
		"Arne Haugen", "good for testing",
		">Problems<", ">Medications<", ">Allergies<", ">Encounters<", ">Devices<", ">Observations<", ">Trends<",
		"Blodtrykksmåler", // a device
		`<code class="copy">`+base+`/Patient/`+chartPersona+`</code>`,
		base+`/Patient/`+chartPersona+`/$everything`,
		base+`/Observation?patient=`+chartPersona,
		`/portal/sandboxes/`+acmeSandbox+`/apps/`+e.acmeApp.ClientID+`/launch/start?patient=`+chartPersona,
		`aria-label="Vekt (kg)"`, ">systolic<", ">diastolic<", "usual adult range")
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(got.body, -1)
	if len(svgs) < 2 {
		t.Fatalf("the chart has %d plots, want at least weight and blood pressure", len(svgs))
	}
	for _, s := range svgs {
		dec := xml.NewDecoder(strings.NewReader(s))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("a plot is not well-formed XML: %v", err)
			}
		}
	}
	wantLacks(t, "chart", got, "<script>", "onclick", "style=")
}

// TestPatientChart_OfAnotherSandbox_NotFound: a patient of B's sandbox is
// not found through A's own sandbox, with the very page a missing patient
// gets, and nothing of it shows.
func TestPatientChart_OfAnotherSandbox_NotFound(t *testing.T) {
	e := newEnv(t, nil)
	body := `{"resourceType":"Patient","id":"only-in-bravo","name":[{"family":"Bravosen","given":["Berit"]}]}`
	put(t, e, bravoSandbox, body)
	obs := `{"resourceType":"Observation","id":"only-in-bravo-hr","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}],"text":"Bravo-puls"},"subject":{"reference":"Patient/only-in-bravo"},
		"effectiveDateTime":"2026-01-01T08:00:00Z","valueQuantity":{"value":70,"unit":"/min"}}`
	put(t, e, bravoSandbox, obs)
	alice, bob := e.signedIn(t, aliceUser), e.signedIn(t, bobUser)
	wantContains(t, "B's own chart", bob.get("/portal/sandboxes/"+bravoSandbox+"/patients/only-in-bravo"), "Berit Bravosen")
	other := alice.get("/portal/sandboxes/" + acmeSandbox + "/patients/only-in-bravo")
	missing := alice.get("/portal/sandboxes/" + acmeSandbox + "/patients/no-such-patient")
	wantStatus(t, "B's patient under A's sandbox", other, http.StatusNotFound)
	wantStatus(t, "a missing patient", missing, http.StatusNotFound)
	if other.body != missing.body {
		t.Error("B's patient under A's sandbox answers differently from a missing patient")
	}
	wantLacks(t, "B's patient", other, "Bravosen", "Bravo-puls")
	wantStatus(t, "B's patient under B's sandbox, asked by A", alice.get("/portal/sandboxes/"+bravoSandbox+"/patients/only-in-bravo"), http.StatusNotFound)
	// A's own persona chart does not pick up B's observations of the
	// same code.
	wantLacks(t, "A's chart", alice.get("/portal/sandboxes/"+acmeSandbox+"/patients/"+chartPersona), "Bravo-puls")
}

// put creates or replaces the resource body (with its id) in sandbox.
func put(t *testing.T, e *env, sandbox, body string) {
	t.Helper()
	r, err := fhirjson.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.store.Update(context.Background(), fhirstore.Sandbox(sandbox), r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}
