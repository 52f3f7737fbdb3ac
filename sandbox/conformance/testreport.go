package conformance

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Identifier systems and extension URLs of the TestReports a run makes.
const (
	// RunSystem is the system of a TestReport's identifier, whose value is
	// the run id.
	RunSystem = "urn:hpsandbox:conformance-run"
	// ProfileSystem is the system of the identifier that stands for the
	// profile in TestReport.testScript: profiles are not TestScripts.
	ProfileSystem = "urn:hpsandbox:conformance-profile"
	// ClientSystem prefixes the uri of the client participant.
	ClientSystem = "urn:hpsandbox:client:"
	// WindowExtension holds the run's time window, a Period.
	WindowExtension = "urn:hpsandbox:extension:conformance-window"
	// ExchangesExtension holds how many exchanges the run judged.
	ExchangesExtension = "urn:hpsandbox:extension:conformance-exchanges"
	// ActiveExtension, true, marks an active run: one that probed a server.
	ActiveExtension = "urn:hpsandbox:extension:conformance-active"
	// engineURI is the test engine participant.
	engineURI = "urn:hpsandbox:conformance-engine"
)

// FHIR R4 TestReport, as much of it as a run fills.
type (
	testReport struct {
		ResourceType string        `json:"resourceType"`
		ID           string        `json:"id,omitempty"`
		Extension    []extension   `json:"extension,omitempty"`
		Identifier   *identifier   `json:"identifier,omitempty"`
		Name         string        `json:"name"`
		Status       string        `json:"status"`
		TestScript   reference     `json:"testScript"`
		Result       string        `json:"result"`
		Score        float64       `json:"score"`
		Tester       string        `json:"tester"`
		Issued       string        `json:"issued"`
		Participant  []participant `json:"participant"`
		Test         []reportTest  `json:"test,omitempty"`
	}
	extension struct {
		URL          string  `json:"url"`
		ValuePeriod  *period `json:"valuePeriod,omitempty"`
		ValueInteger *int    `json:"valueInteger,omitempty"`
		ValueBoolean *bool   `json:"valueBoolean,omitempty"`
	}
	period struct {
		Start string `json:"start,omitempty"`
		End   string `json:"end,omitempty"`
	}
	identifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	reference struct {
		Identifier identifier `json:"identifier"`
		Display    string     `json:"display,omitempty"`
	}
	participant struct {
		Type    string `json:"type"`
		URI     string `json:"uri"`
		Display string `json:"display,omitempty"`
	}
	reportTest struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Action      []action `json:"action"`
	}
	action struct {
		Assert assert `json:"assert"`
	}
	assert struct {
		Result  string `json:"result"`
		Message string `json:"message,omitempty"`
		Detail  string `json:"detail,omitempty"`
	}
)

// fhirTime is a FHIR instant or dateTime in UTC to the millisecond.
func fhirTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// assertResult is TestReport.test.action.assert.result of an outcome: a
// failed check below error severity is a warning.
func assertResult(o Outcome) string {
	switch o.Result.Status {
	case Pass:
		return "pass"
	case Fail:
		if o.Check.Severity == SeverityError {
			return "fail"
		}
		return "warning"
	}
	return "skip"
}

// TestReport returns the run as a FHIR R4 TestReport (JSON): the server
// (the sandbox's FHIR base), the client and the engine as participants,
// pass or fail and the score, and one test per check whose assert says
// its result, message and the evidence (request ids) in detail.
func (run *Run) TestReport() ([]byte, error) {
	tr := testReport{
		ResourceType: "TestReport", ID: run.ID,
		Name:   fmt.Sprintf("%s: %s in sandbox %s", run.Profile.Title, run.ClientID, run.Sandbox),
		Status: "completed",
		TestScript: reference{Identifier: identifier{System: ProfileSystem, Value: run.Profile.ID},
			Display: run.Profile.Title},
		Result: "pass", Score: run.Score(), Tester: "HP Sandbox conformance engine", Issued: fhirTime(run.Issued),
		Participant: []participant{
			{Type: "test-engine", URI: engineURI, Display: "HP Sandbox conformance engine"},
			{Type: "server", URI: run.FHIRBase, Display: "sandbox " + run.Sandbox},
			{Type: "client", URI: ClientSystem + url.PathEscape(run.ClientID), Display: run.ClientID},
		},
	}
	if run.ID != "" {
		tr.Identifier = &identifier{System: RunSystem, Value: run.ID}
	}
	if run.FHIRBase == "" {
		tr.Participant[1].URI = "urn:hpsandbox:sandbox:" + run.Sandbox
	}
	if run.Active {
		tr.Name = fmt.Sprintf("%s: server %s", run.Profile.Title, run.FHIRBase)
		tr.Participant[1].Display = "server under test"
		if run.ClientID == "" {
			tr.Participant = tr.Participant[:2]
		}
		yes := true
		tr.Extension = append(tr.Extension, extension{URL: ActiveExtension, ValueBoolean: &yes})
	}
	if !run.Passed() {
		tr.Result = "fail"
	}
	var w period
	if !run.Since.IsZero() {
		w.Start = fhirTime(run.Since)
	}
	if !run.Until.IsZero() {
		w.End = fhirTime(run.Until)
	}
	if w != (period{}) {
		tr.Extension = append(tr.Extension, extension{URL: WindowExtension, ValuePeriod: &w})
	}
	n := run.Exchanges
	tr.Extension = append(tr.Extension, extension{URL: ExchangesExtension, ValueInteger: &n})
	for _, o := range run.Outcomes {
		desc := o.Check.Title
		if o.Check.Cite != "" {
			desc += " (" + o.Check.Cite + ")"
		}
		a := assert{Result: assertResult(o), Message: o.Result.Message}
		if len(o.Result.Evidence) > 0 {
			a.Detail = "evidence: " + strings.Join(o.Result.Evidence, run.evidenceSep())
		}
		tr.Test = append(tr.Test, reportTest{Name: o.Check.ID, Description: desc, Action: []action{{Assert: a}}})
	}
	return json.Marshal(tr)
}
