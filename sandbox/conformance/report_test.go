package conformance

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/sandbox/requestlog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// sloppyRun is a patient app's run over evidence that passes some checks
// and fails others, with a fixed clock.
func sloppyRun(t testing.TB) *Run {
	t.Helper()
	ev := evidence(
		oauth(goodAuthorize(), func(f *requestlog.OAuth) { f.PKCEMethod, f.Challenge = "", false }),
		granted("launch/patient patient/Observation.rs patient/Condition.rs"),
		fhir("GET", "/Observation?patient=1", 200),
		fhir("GET", "/Observation?patient=1&_offset=20", 200),
		with(fhir("GET", "/Patient/1", 200), func(e *entry) { e.Query = "access_token=REDACTED"; e.Accept = "" }),
	)
	run, err := Default().Evaluate(ProfilePatientApp, ev, fxStart.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	run.ID = "run-1"
	return run
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if the change is meant):\n%s", name, got)
	}
}

func TestRun_SloppyApp_FailsTheRightChecks(t *testing.T) {
	run := sloppyRun(t)
	status := map[string]Status{}
	for _, o := range run.Outcomes {
		status[o.Check.ID] = o.Result.Status
	}
	for id, want := range map[string]Status{
		"smart.pkce-s256": Fail, "oauth.no-token-in-url": Fail, "fhir.follows-next-link": Fail,
		"smart.least-privilege": Fail, "fhir.accept-fhir-json": Fail,
		"smart.state-entropy": Pass, "smart.aud-fhir-base": Pass, "fhir.valid-writes": Skip,
	} {
		if status[id] != want {
			t.Errorf("%s: %s, want %s", id, status[id], want)
		}
	}
	if run.Passed() {
		t.Error("the run passed")
	}
}

func TestTestReport_ValidFHIRR4(t *testing.T) {
	b, err := sloppyRun(t).TestReport()
	if err != nil {
		t.Fatal(err)
	}
	r, err := fhirjson.Parse(b)
	if err != nil {
		t.Fatalf("the TestReport does not validate: %v\n%s", err, b)
	}
	if r.Type != "TestReport" || r.ID != "run-1" {
		t.Fatalf("parsed %s/%s", r.Type, r.ID)
	}
	// A run of nothing is a valid report too.
	empty, err := Default().Evaluate(ProfileFHIRClient, &Evidence{Sandbox: "s", ClientID: "c"}, fxStart)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = empty.TestReport()
	if _, err := fhirjson.Parse(b); err != nil {
		t.Fatalf("the empty run's TestReport does not validate: %v\n%s", err, b)
	}
}

func TestRender_JSON_Golden(t *testing.T) {
	var buf bytes.Buffer
	if err := sloppyRun(t).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "sloppy.json", buf.Bytes())
}

func TestRender_JUnit_GoldenAndParses(t *testing.T) {
	var buf bytes.Buffer
	run := sloppyRun(t)
	if err := run.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "sloppy.junit.xml", buf.Bytes())
	var doc struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Skipped  int `xml:"skipped,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit file does not parse: %v", err)
	}
	c := run.Counts()
	if len(doc.Suites) != 1 || doc.Suites[0].Tests != len(run.Outcomes) || doc.Suites[0].Failures != c.FailedErrors ||
		doc.Suites[0].Skipped != c.Skipped {
		t.Fatalf("suites %+v, counts %+v", doc.Suites, c)
	}
	failed := 0
	for _, tc := range doc.Suites[0].Cases {
		if tc.Failure != nil {
			failed++
			if !strings.Contains(tc.Name, ":") {
				t.Errorf("case %q does not name its check", tc.Name)
			}
		}
	}
	if failed != c.FailedErrors {
		t.Errorf("%d failure elements, want %d", failed, c.FailedErrors)
	}
}

func TestRender_HTML_GoldenAndStandalone(t *testing.T) {
	var buf bytes.Buffer
	if err := sloppyRun(t).WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "sloppy.html", buf.Bytes())
	page := buf.String()
	for _, external := range []string{"<link", "<script", "src=", "@import", "url("} {
		if strings.Contains(page, external) {
			t.Errorf("the page loads something from outside: %q", external)
		}
	}
	if !strings.Contains(page, "smart.pkce-s256") || !strings.Contains(page, "FAIL") {
		t.Error("the page does not name the failed check")
	}
}

// TestParseTestReport_RoundTrip: a stored report renders as the run did.
func TestParseTestReport_RoundTrip(t *testing.T) {
	run := sloppyRun(t)
	b, err := run.TestReport()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseTestReport(b, run.Sandbox, Default())
	if err != nil {
		t.Fatal(err)
	}
	for name, render := range map[string]func(*Run, *bytes.Buffer) error{
		"json":  func(r *Run, w *bytes.Buffer) error { return r.WriteJSON(w) },
		"junit": func(r *Run, w *bytes.Buffer) error { return r.WriteJUnit(w) },
		"html":  func(r *Run, w *bytes.Buffer) error { return r.WriteHTML(w) },
	} {
		var want, got bytes.Buffer
		if err := render(run, &want); err != nil {
			t.Fatal(err)
		}
		if err := render(back, &got); err != nil {
			t.Fatal(err)
		}
		if want.String() != got.String() {
			t.Errorf("%s differs after a round trip:\n%s\nwant\n%s", name, got.String(), want.String())
		}
	}
	// A client id that is no URI path segment survives the round trip.
	run.ClientID = "app 1/ø"
	b, _ = run.TestReport()
	if back, err := ParseTestReport(b, run.Sandbox, Default()); err != nil || back.ClientID != run.ClientID {
		t.Errorf("client id %q came back as %q (%v)", run.ClientID, back.ClientID, err)
	}
	if _, err := fhirjson.Parse(b); err != nil {
		t.Errorf("a report of client %q does not validate: %v", run.ClientID, err)
	}
	if _, err := ParseTestReport([]byte(`{"resourceType":"Patient"}`), "s", Default()); err == nil {
		t.Error("a Patient was read as a TestReport")
	}
}
