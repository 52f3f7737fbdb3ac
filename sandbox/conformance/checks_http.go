package conformance

import (
	"strings"
	"time"
)

// credentialParams name query parameters that carry a credential; the
// request log keeps their names, with the value redacted.
var credentialParams = []string{"access_token", "refresh_token", "id_token", "token", "client_secret",
	"client_assertion", "assertion", "code_verifier", "password", "subject_token", "actor_token"}

// noTokenInURL fails when any exchange of the window carried a credential
// in its URL. Anonymous exchanges of the sandbox count too: a token in
// the query is not read as a token, so its request names no client.
func noTokenInURL() Check {
	return Check{ID: "oauth.no-token-in-url", Title: "Sends no token or other credential in a URL", Cite: citeTokenInURL,
		Severity: SeverityError,
		Evaluate: func(ev *Evidence) Result {
			views := ev.views()
			var bad refs
			n := 0
			for i := range ev.Entries {
				e, v := &ev.Entries[i], &views[i]
				if !v.own && e.ClientID != "" {
					continue
				}
				n++
				if e.Query != "" && hasCredential(e.Query) {
					bad.add(e)
				}
			}
			switch {
			case bad.n > 0:
				return fail(bad, "%d requests carry a credential in the query string", bad.n)
			case n > 0:
				return Result{Status: Pass, Message: "no request carries a credential in its URL"}
			}
			return skip("the client made no request")
		}}
}

// hasCredential reports whether a raw query names a credential parameter.
func hasCredential(rawQuery string) bool {
	for pair := range strings.SplitSeq(rawQuery, "&") {
		name, _, _ := strings.Cut(pair, "=")
		for _, c := range credentialParams {
			if strings.EqualFold(name, c) {
				return true
			}
		}
	}
	return false
}

// Back-off thresholds: after a 429 or 503 a client waits at least
// minRetryWait before asking again; after a 401 or 403 it does not ask the
// same thing more than maxRepeats times within repeatWindow.
const (
	minRetryWait = time.Second
	maxRepeats   = 3
	repeatWindow = 10 * time.Second
)

// backOff judges what the client did after being refused: the same
// request (method, path and query) again before the Retry-After of a 429
// or 503 (or within minRetryWait when it named none), or asked maxRepeats
// more times within repeatWindow of a 401 or 403 that kept coming, is
// hammering.
func backOff() Check {
	return Check{ID: "http.back-off", Title: "Backs off after 401, 403, 429 and 503 instead of hammering",
		Cite: "https://www.rfc-editor.org/rfc/rfc6585#section-4", Severity: SeverityWarning,
		Evaluate: func(ev *Evidence) Result {
			views := ev.views()
			type refusal struct {
				at, burst time.Time // the last refusal, and the first of its burst
				status    int
				wait      time.Duration // the Retry-After of a 429 or 503
				repeats   int           // identical requests since the burst's first
			}
			open := map[string]*refusal{}
			var bad refs
			refused := 0
			for i := range ev.Entries {
				e, v := &ev.Entries[i], &views[i]
				if !v.own {
					continue
				}
				key := e.Method + " " + e.Path + "?" + e.Query
				r := open[key]
				if r != nil {
					switch {
					case (r.status == 429 || r.status == 503) && e.Time.Sub(r.at) < max(minRetryWait, r.wait):
						bad.add(e)
					case (r.status == 401 || r.status == 403) && e.Time.Sub(r.burst) < repeatWindow:
						r.repeats++
						if r.repeats == maxRepeats {
							bad.add(e)
						}
					}
				}
				if !isRefusal(e.Status) {
					delete(open, key)
					continue
				}
				refused++
				if r == nil || e.Time.Sub(r.burst) >= repeatWindow {
					open[key] = &refusal{at: e.Time, burst: e.Time, status: e.Status, wait: e.RetryAfter}
				} else {
					r.at, r.status, r.wait = e.Time, e.Status, e.RetryAfter
				}
			}
			switch {
			case bad.n > 0:
				return fail(bad, "%d requests repeat a refused one too soon (before its Retry-After, or within %s, of a 429 or 503; or %d times within %s of a 401 or 403)",
					bad.n, minRetryWait, maxRepeats, repeatWindow)
			case refused > 0:
				return Result{Status: Pass, Message: "the client waited after every refusal"}
			}
			return skip("the client was never refused with 401, 403, 429 or 503")
		}}
}

// isRefusal is a status a client should back off from.
func isRefusal(status int) bool {
	return status == 401 || status == 403 || status == 429 || status == 503
}
