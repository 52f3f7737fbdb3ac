package conformance

import (
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/requestlog"
)

func okCheck(id string) Check {
	return Check{ID: id, Title: "t", Cite: "https://example.org/spec#x", Severity: SeverityError,
		Evaluate: func(*Evidence) Result { return Result{Status: Pass, Message: "ok"} }}
}

func TestRegistry_Add_RefusesMalformedAndDuplicateChecks(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Check)
		wants string
	}{
		{"BadID", func(c *Check) { c.ID = "Smart PKCE" }, "lower case"},
		{"NoTitle", func(c *Check) { c.Title = "" }, "no title"},
		{"NoEvaluate", func(c *Check) { c.Evaluate = nil }, "no Evaluate"},
		{"BadSeverity", func(c *Check) { c.Severity = "fatal" }, "severity"},
		{"NoCite", func(c *Check) { c.Cite = "" }, "cites no"},
		{"RelativeCite", func(c *Check) { c.Cite = "app-launch.html" }, "absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := okCheck("x.y")
			tt.edit(&c)
			err := NewRegistry().Add(c)
			if err == nil || !strings.Contains(err.Error(), tt.wants) {
				t.Fatalf("Add = %v, want an error saying %q", err, tt.wants)
			}
		})
	}
	r := NewRegistry()
	if err := r.Add(okCheck("x.y")); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(okCheck("x.z"), okCheck("x.y")); err == nil {
		t.Fatal("a duplicate id was accepted")
	}
	if _, ok := r.Check("x.z"); ok {
		t.Fatal("a refused batch was partly added")
	}
}

func TestRegistry_AddProfile_NeedsKnownChecks(t *testing.T) {
	r := NewRegistry()
	_ = r.Add(okCheck("x.y"))
	if err := r.AddProfile(Profile{ID: "p", Title: "P", Checks: []string{"x.y", "x.nope"}}); err == nil {
		t.Fatal("a profile naming an unknown check was accepted")
	}
	if err := r.AddProfile(Profile{ID: "p", Title: "P", Checks: []string{"x.y"}}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddProfile(Profile{ID: "p", Title: "P", Checks: []string{"x.y"}}); err == nil {
		t.Fatal("a duplicate profile was accepted")
	}
	if _, err := r.ChecksOf("nope"); err == nil {
		t.Fatal("ChecksOf an unknown profile succeeded")
	}
}

func TestDefault_FourProfilesOverRegisteredChecks(t *testing.T) {
	r := Default()
	var ids []string
	for _, p := range r.Profiles() {
		ids = append(ids, p.ID)
	}
	if got := strings.Join(ids, " "); got != "smart-app-patient smart-app-clinician smart-backend fhir-client" {
		t.Fatalf("profiles %s", got)
	}
	for _, c := range r.Checks() {
		if c.Cite == "" || !strings.Contains(c.ID, ".") {
			t.Errorf("check %s: cite %q", c.ID, c.Cite)
		}
	}
}

func TestAddConnector_AdaptsChecksAndProfile(t *testing.T) {
	judge := func(x *connectors.Exchange) connectors.Result {
		switch string(x.Request) {
		case "good":
			return connectors.Result{Verdict: connectors.Pass}
		case "bad":
			return connectors.Result{Verdict: connectors.Fail, Issues: []outcome.Issue{{Severity: outcome.ErrorLevel, Code: outcome.Value,
				Diagnostics: "not LOINC", Expression: []string{"Observation.code"}}}}
		}
		return connectors.Result{Verdict: connectors.NotApplicable}
	}
	r := Default()
	if err := r.AddConnector("example", "Example connector", []connectors.Check{{ID: "example-loinc", Description: "Coded with LOINC.", Judge: judge}}); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Check("example-loinc")
	if !ok || c.Source != "example" || c.Title != "Coded with LOINC." {
		t.Fatalf("adapted check %+v", c)
	}
	if _, ok := r.Profile("connector-example"); !ok {
		t.Fatal("no profile connector-example")
	}
	x := func(id, body, connector string) *connectors.Exchange {
		return &connectors.Exchange{Sandbox: fxSandbox, Connector: connector, Request: []byte(body), RequestID: id, Start: time.Now()}
	}
	tests := []struct {
		name string
		xs   []*connectors.Exchange
		want Status
		ref  string
	}{
		{"AllGood_Passes", []*connectors.Exchange{x("m1", "good", "example")}, Pass, "m1"},
		{"OneBad_Fails", []*connectors.Exchange{x("m1", "good", "example"), x("m2", "bad", "example")}, Fail, "m2"},
		{"OtherConnector_Skips", []*connectors.Exchange{x("m1", "bad", "other")}, Skip, ""},
		{"NotApplicable_Skips", []*connectors.Exchange{x("m1", "other", "example")}, Skip, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Evaluate(&Evidence{Sandbox: fxSandbox, Exchanges: tt.xs})
			if got.Status != tt.want || (tt.ref != "" && !strings.Contains(strings.Join(got.Evidence, " "), tt.ref)) {
				t.Fatalf("result %+v, want %s naming %q", got, tt.want, tt.ref)
			}
			if tt.want == Fail && !strings.Contains(got.Message, "not LOINC (Observation.code)") {
				t.Errorf("message %q does not carry the issue", got.Message)
			}
		})
	}
	// A run over the request log reads the verdicts recorded when each
	// message arrived, since the log keeps no bodies.
	logged := func(id int64, connector string, vs ...requestlog.Verdict) requestlog.Entry {
		return requestlog.Entry{ID: id, Sandbox: fxSandbox, Connector: connector, Verdicts: vs}
	}
	pass := requestlog.Verdict{Check: "example-loinc", Pass: true}
	fail := requestlog.Verdict{Check: "example-loinc", Message: "not LOINC (Observation.code)"}
	other := requestlog.Verdict{Check: "example-other"}
	for _, tt := range []struct {
		name    string
		entries []requestlog.Entry
		want    Status
		ref     string
	}{
		{"Log_AllGood_Passes", []requestlog.Entry{logged(1, "example", pass), logged(2, "example", pass)}, Pass, "log-2"},
		{"Log_OneBad_Fails", []requestlog.Entry{logged(1, "example", pass), logged(2, "example", fail, other)}, Fail, "log-2"},
		{"Log_OtherChecksVerdict_Skips", []requestlog.Entry{logged(1, "example", other)}, Skip, ""},
		{"Log_OtherConnector_Skips", []requestlog.Entry{logged(1, "other", fail)}, Skip, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Evaluate(&Evidence{Sandbox: fxSandbox, Entries: tt.entries})
			if got.Status != tt.want || (tt.ref != "" && !strings.Contains(strings.Join(got.Evidence, " "), tt.ref)) {
				t.Fatalf("result %+v, want %s naming %q", got, tt.want, tt.ref)
			}
			if tt.want == Fail && !strings.Contains(got.Message, "not LOINC (Observation.code)") {
				t.Errorf("message %q does not carry the verdict's message", got.Message)
			}
		})
	}
	if err := r.AddConnector("example", "again", []connectors.Check{{ID: "example-loinc", Description: "d", Judge: judge}}); err == nil {
		t.Fatal("a connector's check was registered twice")
	}
}

func TestEvaluate_PanickingCheckFailsAlone(t *testing.T) {
	r := NewRegistry()
	boom := okCheck("x.boom")
	boom.Evaluate = func(*Evidence) Result { panic("oops") }
	_ = r.Add(okCheck("x.ok"), boom)
	_ = r.AddProfile(Profile{ID: "p", Title: "P", Checks: []string{"x.ok", "x.boom"}})
	run, err := r.Evaluate("p", evidence(), fxStart)
	if err != nil {
		t.Fatal(err)
	}
	if run.Outcomes[0].Result.Status != Pass || run.Outcomes[1].Result.Status != Fail || run.Passed() || run.Score() != 50 {
		t.Fatalf("outcomes %+v, passed %v, score %v", run.Outcomes, run.Passed(), run.Score())
	}
}
