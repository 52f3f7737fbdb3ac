package sandbox

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/phd"
	"hpsandbox/sandbox/requestlog"
)

// A PHD gateway's upload round trip: the transaction lands, a resend makes
// no duplicates (conditional creates), and the "PHD gateway" checks judge
// the uploads from the request log: a conforming upload passes, one with
// a time without zone fails that rule alone.
func TestGateway_PHDUploadRoundTripAndJudgement(t *testing.T) {
	env := newGatewayEnv(t, false)
	token := env.backendToken(t, DemoBackendClientID, "system/*.cruds")
	upload, err := os.ReadFile("phd/testdata/upload.json")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC()
	for range 2 {
		resp, body := env.fhir(t, http.MethodPost, "", token, string(upload))
		if resp.StatusCode != http.StatusOK || body["type"] != "transaction-response" {
			t.Fatalf("upload: %d %v", resp.StatusCode, body)
		}
	}
	count := func(path string) float64 {
		resp, body := env.fhir(t, http.MethodGet, path, token, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, body)
		}
		return body["total"].(float64)
	}
	if n := count("/Device?identifier=urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680|74-E8-FF-FE-FF-05-1C-00&_total=accurate"); n != 1 {
		t.Errorf("%v devices after a resend, want 1", n)
	}
	if n := count("/Observation?device.identifier=74-E8-FF-FE-FF-05-1C-00&_total=accurate"); n != 2 {
		t.Errorf("%v observations after a resend, want 2", n)
	}
	mid := time.Now().UTC()

	broken := strings.Replace(string(upload), `"effectiveDateTime": "2018-11-11T19:07:37-05:00"`, `"effectiveDateTime": "2018-11-11"`, 1)
	if broken == string(upload) {
		t.Fatal("test upload has no effectiveDateTime to break")
	}
	resp, body := env.fhir(t, http.MethodPost, "", token, broken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("broken upload: %d %v", resp.StatusCode, body)
	}
	brokenID := resp.Header.Get(RequestIDHeader)
	end := time.Now().UTC().Add(time.Second)

	if err := env.gw.recorder.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The verdicts are on the upload's own entry, one per rule, the broken
	// rule's alone failing; the log holds no entry of verdicts besides.
	page, err := env.gw.requests.Query(context.Background(), requestlog.Filter{Sandbox: "default", Limit: requestlog.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	uploads := 0
	for _, e := range page.Entries {
		if len(e.Verdicts) > 0 && (e.Method != http.MethodPost || e.Connector != "") {
			t.Errorf("verdicts on %s %s (connector %q), want them on uploads only", e.Method, e.Path, e.Connector)
		}
		if e.Method == http.MethodPost && len(e.Verdicts) > 0 {
			uploads++
		}
		if e.RequestID != brokenID {
			continue
		}
		var failing []requestlog.Verdict
		for _, v := range e.Verdicts {
			if !v.Pass {
				failing = append(failing, v)
			}
		}
		if len(e.Verdicts) != len(phd.Rules) || len(failing) != 1 || failing[0].Check != phd.RuleEffectiveTimeZone ||
			!strings.Contains(failing[0].Message, "zone") {
			t.Errorf("broken upload's verdicts %+v, want one per rule and %s alone failing", e.Verdicts, phd.RuleEffectiveTimeZone)
		}
	}
	if uploads != 3 {
		t.Errorf("%d uploads with verdicts, want 3", uploads)
	}
	reg, err := checkRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	runner := &conformance.Runner{Registry: reg, Log: env.gw.requests}
	var last *conformance.Run
	statuses := func(since, until time.Time) map[string]conformance.Status {
		run, err := runner.Run(context.Background(), "default", conformance.RunRequest{ClientID: DemoBackendClientID,
			Profile: phd.ProfileID, Since: since, Until: until})
		if err != nil {
			t.Fatal(err)
		}
		last = run
		out := map[string]conformance.Status{}
		for _, o := range run.Outcomes {
			out[o.Check.ID] = o.Result.Status
			if o.Check.ID == phd.RuleEffectiveTimeZone && o.Result.Status == conformance.Fail &&
				(len(o.Result.Evidence) != 1 || o.Result.Evidence[0] != brokenID) {
				t.Errorf("failing rule's evidence %v, want the broken upload %s", o.Result.Evidence, brokenID)
			}
		}
		return out
	}
	for id, st := range statuses(start, mid) {
		if st != conformance.Pass {
			t.Errorf("conforming uploads: %s %s", id, st)
		}
	}
	for id, st := range statuses(start, end) {
		want := conformance.Pass
		if id == phd.RuleEffectiveTimeZone {
			want = conformance.Fail
		}
		if st != want {
			t.Errorf("with the broken upload: %s %s, want %s", id, st, want)
		}
	}
	var report bytes.Buffer
	if err := last.WriteJSON(&report); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report.String(), brokenID) || !strings.Contains(report.String(), phd.RuleEffectiveTimeZone) {
		t.Errorf("the report does not name the broken upload %s under %s", brokenID, phd.RuleEffectiveTimeZone)
	}
}
