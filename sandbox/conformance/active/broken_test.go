package active

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/sandbox/conformance"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// breakServer wraps a sandbox that answers without a token into a server
// that is wrong in the ways the suite must catch: it ignores the tokens
// it is sent (so a patient token sees every patient), answers FHIR
// errors as text/html, accepts a client assertion again (a replayed jti),
// and drops next links from searchsets.
func breakServer(h http.Handler) http.Handler {
	var mu sync.Mutex
	issued := map[string]*httptest.ResponseRecorder{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var assertion string
		if r.Method == http.MethodPost && r.URL.Path == "/auth/token" {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			assertion = form.Get("client_assertion")
			r.Body = io.NopCloser(bytes.NewReader(body))
			mu.Lock()
			again := issued[assertion]
			mu.Unlock()
			if assertion != "" && again != nil {
				copyResponse(w, again.Result().StatusCode, again.Header(), again.Body.Bytes())
				return
			}
		}
		fhir := strings.HasPrefix(r.URL.Path, "/fhir")
		if fhir {
			r.Header.Del("Authorization")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		status, body := rec.Code, rec.Body.Bytes()
		switch {
		case assertion != "" && status == http.StatusOK:
			mu.Lock()
			issued[assertion] = rec
			mu.Unlock()
		case fhir && status >= 400:
			rec.Header().Set("Content-Type", "text/html; charset=utf-8")
			body = []byte("<html><body><h1>Something went wrong</h1></body></html>")
		case fhir && bytes.Contains(body, []byte(`"searchset"`)):
			var b map[string]any
			if json.Unmarshal(body, &b) == nil {
				var links []any
				for _, l := range list(b, "link") {
					if lo, _ := l.(map[string]any); str(lo, "relation") != "next" {
						links = append(links, l)
					}
				}
				b["link"] = links
				body, _ = json.Marshal(b)
			}
		}
		copyResponse(w, status, rec.Header(), body)
	})
}

func copyResponse(w http.ResponseWriter, status int, h http.Header, body []byte) {
	for k, vs := range h {
		if k != "Content-Length" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(status)
	w.Write(body)
}

// brokenFailures are the tests the broken server must fail, no more.
var brokenFailures = []string{
	"active.backend-rejects-replayed-jti",
	"active.error-401-invalid-token",
	"active.search-paging-next",
	"active.search-paging-complete",
	"active.error-404-operationoutcome",
	"active.error-400-operationoutcome",
	"active.error-415-operationoutcome",
	"active.patient-scope-read-other-patient",
	"active.patient-scope-search",
	"active.patient-scope-include",
	"active.patient-scope-chain",
	"active.patient-scope-transaction",
}

// brokenRun runs the suite against a broken server, its report issued at
// fixedNow.
func brokenRun(t *testing.T) (*conformance.Run, *sandboxServer) {
	t.Helper()
	s := startSandbox(t, false, breakServer)
	run, err := Run(context.Background(), s.config(), ProfileServer)
	if err != nil {
		t.Fatal(err)
	}
	run.Issued = fixedNow
	return run, s
}

// TestRun_AgainstABrokenServer: the suite fails exactly the tests of
// what the broken server does wrong, and its report renders as the
// golden files say.
func TestRun_AgainstABrokenServer(t *testing.T) {
	run, s := brokenRun(t)
	t.Run("FailsTheRightTests", func(t *testing.T) { failsTheRightTests(t, run) })
	t.Run("GoldenJSONJUnitAndHTML", func(t *testing.T) { goldenReports(t, run, s) })
}

func failsTheRightTests(t *testing.T, run *conformance.Run) {
	var failed []string
	for _, o := range run.Outcomes {
		t.Logf("%-5s %-45s %s", o.Result.Status, o.Check.ID, o.Result.Message)
		if o.Result.Status == conformance.Fail {
			failed = append(failed, o.Check.ID)
		}
	}
	if !slices.Equal(failed, brokenFailures) {
		t.Errorf("failed %v\nwant   %v", failed, brokenFailures)
	}
	if st := statuses(run)["active.error-401-no-token"]; st != conformance.Skip {
		t.Errorf("active.error-401-no-token against an open server: %s, want skip", st)
	}
	if run.Passed() {
		t.Error("the run passed")
	}
}

// randomParams are the query parameters of an authorization whose
// values are random.
var randomParams = regexp.MustCompile(`(^|[^A-Za-z_])(session|state|code_challenge|code)=[A-Za-z0-9_%.-]+`)

// normalise replaces what differs between runs of the same server (its
// port, the random values of an authorization request) in a rendering.
func normalise(b []byte, base string) []byte {
	b = bytes.ReplaceAll(b, []byte(base), []byte("http://sandbox.test"))
	b = bytes.ReplaceAll(b, []byte(url.QueryEscape(base)), []byte(url.QueryEscape("http://sandbox.test")))
	return randomParams.ReplaceAll(b, []byte("${1}${2}=X"))
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

func goldenReports(t *testing.T, run *conformance.Run, s *sandboxServer) {
	var js, ju bytes.Buffer
	if err := run.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if _, err := fhirjson.Parse(js.Bytes()); err != nil {
		t.Errorf("the report is not a valid R4 TestReport: %v", err)
	}
	golden(t, "broken.json", normalise(js.Bytes(), s.srv.URL))
	if err := run.WriteJUnit(&ju); err != nil {
		t.Fatal(err)
	}
	golden(t, "broken.junit.xml", normalise(ju.Bytes(), s.srv.URL))
	var page bytes.Buffer
	if err := run.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	golden(t, "broken.html", normalise(page.Bytes(), s.srv.URL))
	if !bytes.Contains(page.Bytes(), []byte("Server <code>"+run.FHIRBase+"</code>")) {
		t.Error("the page does not name the server tested")
	}

	var doc struct {
		XMLName xml.Name `xml:"testsuites"`
		Suites  []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Cases    []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(ju.Bytes(), &doc); err != nil {
		t.Fatalf("the JUnit file does not parse as JUnit: %v", err)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != ProfileServer || doc.Suites[0].Tests != len(run.Outcomes) ||
		doc.Suites[0].Failures != len(brokenFailures) || doc.Suites[0].Skipped != 1 {
		t.Fatalf("suite %+v", doc.Suites)
	}
	var failed []string
	for _, c := range doc.Suites[0].Cases {
		if c.Failure != nil {
			id, _, _ := strings.Cut(c.Name, ":")
			failed = append(failed, id)
		}
	}
	if !slices.Equal(failed, brokenFailures) {
		t.Errorf("JUnit failures %v, want %v", failed, brokenFailures)
	}
	// A stored report reads back as the run.
	b, _ := run.TestReport()
	back, err := conformance.ParseTestReport(b, "", conformance.NewRegistry())
	if err != nil || !back.Active || back.FHIRBase != run.FHIRBase || len(back.Outcomes) != len(run.Outcomes) {
		t.Fatalf("read back: %+v, %v", back, err)
	}
	for i, o := range back.Outcomes {
		if !slices.Equal(o.Result.Evidence, run.Outcomes[i].Result.Evidence) {
			t.Errorf("%s: evidence %q came back as %q", o.Check.ID, run.Outcomes[i].Result.Evidence, o.Result.Evidence)
		}
	}
}
