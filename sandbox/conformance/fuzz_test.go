package conformance

import (
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

// FuzzPassiveChecks judges evidence made of whatever a client sent (the
// path, query, Accept header and method it chose, the scopes it was
// granted): no check may panic or answer without a status.
func FuzzPassiveChecks(f *testing.F) {
	f.Add("GET", "/sandboxes/acme/fhir/Observation", "patient=1&_count=50&_cursor=x", "application/fhir+json", "patient/*.rs", 200, int64(100))
	f.Add("POST", "/sandboxes/acme/fhir/Observation/_search", "_offset=%zz&access_token=REDACTED", "*/*;q=0.1", "user/Observation.cruds?category=x", 429, int64(0))
	f.Add("PUT", "/sandboxes/acme/fhir/", "&&=&", ",,;", "patient/.rs system/*.* launch", 401, int64(-5))
	f.Fuzz(func(t *testing.T, method, path, query, accept, scopes string, status int, gapMS int64) {
		checks := PassiveChecks()
		e := requestlog.Entry{ClientID: fxClient, Method: method, Path: path, Query: query, Accept: accept, Status: status}
		g := granted(scopes)
		ev := evidence(g, e, after(time.Duration(gapMS)*time.Millisecond, e), oauth(goodAuthorize(), nil), e)
		for _, c := range checks {
			res := c.Evaluate(ev)
			if res.Status != Pass && res.Status != Fail && res.Status != Skip {
				t.Fatalf("%s: status %q", c.ID, res.Status)
			}
			if len(res.Evidence) > MaxEvidence {
				t.Fatalf("%s: %d evidence ids", c.ID, len(res.Evidence))
			}
		}
	})
}
