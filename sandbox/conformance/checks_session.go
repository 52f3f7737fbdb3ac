package conformance

import (
	"strings"

	"hpsandbox/sandbox/requestlog"
)

// Specification sections the session checks cite.
const (
	citeRefresh       = "https://hl7.org/fhir/smart-app-launch/app-launch.html#refresh-access-token"
	citePatientScopes = "https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#patient-specific-scopes"
)

// grantsRefresh is a successful token request whose grant came with a
// refresh token (offline_access or online_access granted).
func grantsRefresh(e *requestlog.Entry) bool {
	if e.OAuth == nil || e.OAuth.Endpoint != "token" || e.OAuth.Error != "" {
		return false
	}
	for s := range strings.FieldsSeq(e.Scopes) {
		if s == "offline_access" || s == "online_access" {
			return true
		}
	}
	return false
}

// refreshNotReauthorize fails a client that, holding a refresh token,
// sends the user through authorization again instead of refreshing.
func refreshNotReauthorize() Check {
	return Check{ID: "smart.refresh-not-reauthorize", Title: "Refreshes its access token rather than authorizing again",
		Cite: citeRefresh, Severity: SeverityWarning,
		Evaluate: func(ev *Evidence) Result {
			views := ev.views()
			holding := false // a refresh token was granted and not yet used
			var refreshed, again refs
			for i := range ev.Entries {
				e, v := &ev.Entries[i], &views[i]
				if !v.own || e.OAuth == nil {
					continue
				}
				o := e.OAuth
				switch {
				case o.Endpoint == "authorize" && holding:
					again.add(e)
					holding = false
				case o.Endpoint == "token" && o.GrantType == "refresh_token" && o.Error == "":
					refreshed.add(e)
				}
				if grantsRefresh(e) {
					holding = true
				}
			}
			switch {
			case again.n > 0:
				return fail(again, "%d authorization requests came while the client held a refresh token", again.n)
			case refreshed.n > 0:
				return pass(refreshed, "the client refreshed %d times and never authorized again while it could refresh", refreshed.n)
			}
			return skip("the client neither refreshed nor authorized again while it held a refresh token")
		}}
}

// patientLevel reports whether every clinical scope of a space-separated
// list is patient-level, and there is at least one.
func patientLevel(scopes string) bool {
	n := 0
	for s := range strings.FieldsSeq(scopes) {
		if _, ok := parseClinical(s); ok {
			if !strings.HasPrefix(s, "patient/") {
				return false
			}
			n++
		}
	}
	return n > 0
}

// patientCompartment fails a client whose patient-level token was refused
// (403): it reached for another patient's data, or beyond its scopes.
func patientCompartment() Check {
	return Check{ID: "smart.patient-compartment", Title: "Stays in its patient's compartment under a patient token (no 403)",
		Cite: citePatientScopes, Severity: SeverityError,
		Evaluate: func(ev *Evidence) Result {
			return judgeEach(ev, func(e *requestlog.Entry, v *view) bool { return v.fhir && patientLevel(e.Scopes) },
				func(e *requestlog.Entry, _ *view) bool { return e.Status != 403 },
				"FHIR requests under a patient-level token", "stay within the patient's compartment and the token's scopes (no 403)")
		}}
}
