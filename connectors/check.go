package connectors

import "hpsandbox/fhirstore/outcome"

// Check is one conformance check a connector contributes: it judges a
// single exchange, on its own. Checks that need several exchanges, and
// running checks and reporting them (as TestReport), are the conformance
// engine's.
type Check struct {
	// ID is unique among all checks, e.g. "example-observation-loinc".
	ID string
	// Description says in one sentence what a passing exchange does.
	Description string
	// Judge decides one exchange. It must not modify x, and it must answer
	// NotApplicable, not fail, for exchanges the check is not about.
	Judge func(x *Exchange) Result
}

// Verdict is the outcome of a check on one exchange.
type Verdict int

// Verdicts of a Check.
const (
	NotApplicable Verdict = iota // the check is not about this exchange
	Pass
	Fail
)

// String is the verdict in words: pass, fail or not-applicable.
func (v Verdict) String() string {
	switch v {
	case Pass:
		return "pass"
	case Fail:
		return "fail"
	default:
		return "not-applicable"
	}
}

// Result is a Check's judgement: the verdict and, for a failure (or a pass
// with remarks), issues naming the elements concerned.
type Result struct {
	Verdict Verdict
	Issues  []outcome.Issue
}
