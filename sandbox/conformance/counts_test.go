package conformance

import "testing"

// A failed check of warning or info severity counts as a failure and a
// warning, never as a failure of the run (FailedErrors).
func TestCounts_WarningsAreFailuresOfWarningSeverity(t *testing.T) {
	out := func(s Status, sev Severity) Outcome {
		return Outcome{Check: Check{Severity: sev}, Result: Result{Status: s}}
	}
	run := &Run{Outcomes: []Outcome{
		out(Pass, SeverityError), out(Fail, SeverityError), out(Fail, SeverityWarning),
		out(Fail, SeverityWarning), out(Fail, SeverityInfo), out(Skip, SeverityError),
	}}
	c := run.Counts()
	if c.Passed != 1 || c.Failed != 4 || c.FailedErrors != 1 || c.Skipped != 1 || c.Warnings() != 3 {
		t.Errorf("counts %+v, warnings %d; want 1 passed, 4 failed of which 1 error, 3 warnings, 1 skipped", c, c.Warnings())
	}
}
