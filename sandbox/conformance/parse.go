package conformance

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ParseTestReport reads back a TestReport that Run.TestReport made (and a
// store kept), so that a stored run renders as JUnit XML or HTML again.
// Checks are looked up in reg for their titles, citations and
// severities; a check reg does not know keeps what the report says of it.
func ParseTestReport(b []byte, sandbox string, reg *Registry) (*Run, error) {
	var tr testReport
	if err := json.Unmarshal(b, &tr); err != nil {
		return nil, fmt.Errorf("conformance: the TestReport does not parse: %w", err)
	}
	if tr.ResourceType != "TestReport" {
		return nil, fmt.Errorf("conformance: a %q is not a TestReport", tr.ResourceType)
	}
	run := &Run{ID: tr.ID, Sandbox: sandbox}
	run.Issued, _ = time.Parse(time.RFC3339Nano, tr.Issued)
	pid := tr.TestScript.Identifier.Value
	if p, ok := reg.Profile(pid); ok {
		run.Profile = p
	} else {
		run.Profile = Profile{ID: pid, Title: tr.TestScript.Display}
	}
	for _, p := range tr.Participant {
		switch p.Type {
		case "server":
			if !strings.HasPrefix(p.URI, "urn:") {
				run.FHIRBase = p.URI
			}
		case "client":
			id := strings.TrimPrefix(p.URI, ClientSystem)
			if un, err := url.PathUnescape(id); err == nil {
				id = un
			}
			run.ClientID = id
		}
	}
	for _, x := range tr.Extension {
		switch {
		case x.URL == WindowExtension && x.ValuePeriod != nil:
			run.Since, _ = time.Parse(time.RFC3339Nano, x.ValuePeriod.Start)
			run.Until, _ = time.Parse(time.RFC3339Nano, x.ValuePeriod.End)
		case x.URL == ExchangesExtension && x.ValueInteger != nil:
			run.Exchanges = *x.ValueInteger
		case x.URL == ActiveExtension && x.ValueBoolean != nil:
			run.Active = *x.ValueBoolean
		}
	}
	for _, t := range tr.Test {
		c, ok := reg.Check(t.Name)
		if !ok {
			c = Check{ID: t.Name, Title: t.Description, Severity: SeverityError}
		}
		var a assert
		if len(t.Action) > 0 {
			a = t.Action[0].Assert
		}
		res := Result{Message: a.Message}
		switch a.Result {
		case "pass":
			res.Status = Pass
		case "fail":
			res.Status = Fail
		case "warning":
			res.Status = Fail
			if !ok {
				c.Severity = SeverityWarning
			}
		default:
			res.Status = Skip
		}
		if ids, found := strings.CutPrefix(a.Detail, "evidence: "); found {
			res.Evidence = run.splitEvidence(ids)
		}
		run.Outcomes = append(run.Outcomes, Outcome{Check: c, Result: res})
	}
	return run, nil
}
