package conformance

import (
	"fmt"
	"testing"
	"time"
)

// benchEvidence is a busy client's window: n exchanges of a realistic mix
// (discovery, authorizations, token requests, reads, paged searches,
// writes, refusals), and some anonymous traffic.
func benchEvidence(n int) *Evidence {
	ev := &Evidence{Sandbox: fxSandbox, ClientID: fxClient, FHIRBase: fxBase, Since: fxStart}
	auth, assertion := goodAuthorize(), goodAssertion()
	t := fxStart
	for i := range n {
		var e entry
		switch i % 20 {
		case 0:
			e = anon("GET", "/.well-known/smart-configuration", 200)
		case 1:
			e = oauth(auth, nil)
		case 2:
			e = granted("launch/patient patient/Observation.rs patient/Patient.rs")
		case 3:
			e = oauth(assertion, nil)
		case 4, 5, 6, 7:
			e = fhir("GET", fmt.Sprintf("/Patient/%d", i), 200)
		case 8, 9, 10:
			e = fhir("GET", "/Observation?patient=1&_count=50", 200)
		case 11, 12:
			e = fhir("GET", "/Observation?patient=1&_count=50&_cursor=c"+fmt.Sprint(i), 200)
		case 13:
			e = with(fhir("POST", "/Observation", 201), func(e *entry) { e.Preconditions = "If-None-Exist" })
		case 14:
			e = with(fhir("PUT", fmt.Sprintf("/Observation/%d", i), 200), func(e *entry) { e.Preconditions = "If-Match" })
		case 15:
			e = fhir("GET", "/Observation?patient=2", 429)
		case 16:
			e = fhir("GET", "/Encounter/1", 403)
		case 17:
			e = fhir("POST", "/Observation", 422)
		default:
			e = fhir("GET", "/metadata", 200)
		}
		t = t.Add(100 * time.Millisecond)
		e.ID, e.Sandbox, e.Time, e.RequestID = int64(i+1), fxSandbox, t, fmt.Sprintf("req-%d", i+1)
		ev.Entries = append(ev.Entries, e)
	}
	ev.Until = t.Add(time.Second)
	return ev
}

// BenchmarkPassiveChecks_100k evaluates every passive check over 100,000
// recorded exchanges (target: under a second), the views of the entries
// included, as a run pays for them.
func BenchmarkPassiveChecks_100k(b *testing.B) {
	base := benchEvidence(100_000)
	checks := PassiveChecks()
	b.ReportAllocs()
	for b.Loop() {
		ev := &Evidence{Sandbox: base.Sandbox, ClientID: base.ClientID, FHIRBase: base.FHIRBase, Since: base.Since,
			Until: base.Until, Entries: base.Entries}
		for _, c := range checks {
			if res := c.Evaluate(ev); res.Status == "" {
				b.Fatal("no status")
			}
		}
	}
	b.ReportMetric(float64(len(checks)), "checks")
}
