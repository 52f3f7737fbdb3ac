package conformance

import (
	"fmt"
	"strings"
	"time"
)

// Run is one evaluation of a profile's checks over a client's evidence.
type Run struct {
	// ID names the run; it is the id of its TestReport.
	ID       string
	Sandbox  string
	ClientID string
	FHIRBase string
	Profile  Profile
	// Since and Until bound the window judged (Until exclusive).
	Since, Until time.Time
	// Issued is when the run was evaluated.
	Issued time.Time
	// Exchanges is how many exchanges the evidence held; of an active run,
	// how many requests it sent.
	Exchanges int
	// Active marks a run that probed a server (package active) rather than
	// judged a client's recorded exchanges: FHIRBase is the server tested,
	// ClientID the backend client the run used, if any, and no Sandbox.
	Active   bool
	Outcomes []Outcome
}

// evidenceSep separates the evidence of a Result in the renderings: an
// active run's evidence is requests ("GET url → 404"), which hold spaces.
func (run *Run) evidenceSep() string {
	if run.Active {
		return "; "
	}
	return " "
}

// splitEvidence reads back what evidenceSep joined.
func (run *Run) splitEvidence(s string) []string {
	if run.Active {
		return strings.Split(s, "; ")
	}
	return strings.Fields(s)
}

// Outcome is one check's result in a run.
type Outcome struct {
	Check  Check
	Result Result
}

// Evaluate runs the checks of profile over ev and returns the run, with
// Issued set to now and no ID (the caller names it). A check that panics
// fails with the panic in its message, and the others still run.
func (r *Registry) Evaluate(profile string, ev *Evidence, now time.Time) (*Run, error) {
	checks, err := r.ChecksOf(profile)
	if err != nil {
		return nil, err
	}
	p, _ := r.Profile(profile)
	run := &Run{Sandbox: ev.Sandbox, ClientID: ev.ClientID, FHIRBase: ev.FHIRBase, Profile: p,
		Since: ev.Since, Until: ev.Until, Issued: now, Exchanges: len(ev.Entries) + len(ev.Exchanges)}
	run.Outcomes = make([]Outcome, len(checks))
	for i, c := range checks {
		run.Outcomes[i] = Outcome{Check: c, Result: evaluate(c, ev)}
	}
	return run, nil
}

// evaluate runs one check, turning a panic into a failure.
func evaluate(c Check, ev *Evidence) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Result{Status: Fail, Message: fmt.Sprintf("the check itself failed: %v", p)}
		}
	}()
	res = c.Evaluate(ev)
	if len(res.Evidence) > MaxEvidence {
		res.Evidence = res.Evidence[:MaxEvidence]
	}
	return res
}

// Counts are a run's outcomes by status.
type Counts struct {
	Passed, Failed, Skipped int
	// FailedErrors are the failures of error severity, which fail a run.
	FailedErrors int
}

// Warnings are the failures that do not fail a run (of warning or info
// severity): reported, as warnings, beside the run's result.
func (c Counts) Warnings() int { return c.Failed - c.FailedErrors }

// Counts counts the run's outcomes.
func (run *Run) Counts() Counts {
	var c Counts
	for _, o := range run.Outcomes {
		switch o.Result.Status {
		case Pass:
			c.Passed++
		case Fail:
			c.Failed++
			if o.Check.Severity == SeverityError {
				c.FailedErrors++
			}
		default:
			c.Skipped++
		}
	}
	return c
}

// Passed reports whether no check of error severity failed.
func (run *Run) Passed() bool { return run.Counts().FailedErrors == 0 }

// Score is the percentage of judged checks (those not skipped) that
// passed; 100 when none was judged.
func (run *Run) Score() float64 {
	c := run.Counts()
	if c.Passed+c.Failed == 0 {
		return 100
	}
	return float64(int(float64(c.Passed)*1000/float64(c.Passed+c.Failed)+0.5)) / 10
}
