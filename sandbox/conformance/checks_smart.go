package conformance

import (
	"hpsandbox/sandbox/requestlog"
)

// Specification sections the authorization checks cite.
const (
	citeAuthorize  = "https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code"
	citeDiscovery  = "https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known"
	citeRedirect   = "https://www.rfc-editor.org/rfc/rfc9700#section-2.1"
	citeTokenInURL = "https://www.rfc-editor.org/rfc/rfc6750#section-5.3"
	citeAssertion  = "https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint"
	citeScopes     = "https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html"
)

// minStateBits is the entropy SMART App Launch asks of state: "at least
// 122 bits of entropy (e.g., a properly configured random uuid)".
const minStateBits = 122

// maxAssertionSeconds is the longest lifetime SMART Backend Services
// allows a client assertion: exp no more than five minutes ahead.
const maxAssertionSeconds = 300

// oauthAt returns a predicate for the client's requests to an endpoint
// of the authorization server.
func oauthAt(endpoint string) func(e *requestlog.Entry, _ *view) bool {
	return func(e *requestlog.Entry, _ *view) bool { return e.OAuth != nil && e.OAuth.Endpoint == endpoint }
}

// withAssertion is a token request authenticated by a client assertion.
func withAssertion(e *requestlog.Entry, _ *view) bool {
	return e.OAuth != nil && e.OAuth.Endpoint == "token" && e.OAuth.ClientAuth == "private_key_jwt"
}

// authorizationChecks judge the authorize requests of an app.
func authorizationChecks() []Check {
	authorize := oauthAt("authorize")
	return []Check{
		{ID: "smart.pkce-s256", Title: "Authorization requests use PKCE with S256", Cite: citeAuthorize, Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, authorize, func(e *requestlog.Entry, _ *view) bool {
					return e.OAuth.Challenge && e.OAuth.PKCEMethod == "S256"
				}, "authorization requests", "send a code_challenge with code_challenge_method S256")
			}},
		{ID: "smart.state-entropy", Title: "Authorization requests send a state of at least 122 bits of entropy", Cite: citeAuthorize,
			Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, authorize, func(e *requestlog.Entry, _ *view) bool {
					return e.OAuth.StateLen > 0 && e.OAuth.StateBits >= minStateBits
				}, "authorization requests", "send a state with at least 122 bits of entropy")
			}},
		{ID: "smart.aud-fhir-base", Title: "Authorization requests name the sandbox's FHIR base as aud", Cite: citeAuthorize,
			Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, authorize, func(e *requestlog.Entry, _ *view) bool { return e.OAuth.AudMatches },
					"authorization requests", "send the FHIR base URL as aud")
			}},
		{ID: "smart.redirect-uri-exact", Title: "Authorization requests send a registered redirect_uri, exactly", Cite: citeRedirect,
			Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, authorize, func(e *requestlog.Entry, _ *view) bool { return e.OAuth.RedirectExact },
					"authorization requests", "send a redirect_uri registered for the app, character for character")
			}},
	}
}

// assertionChecks judge a backend service's client assertions.
func assertionChecks() []Check {
	return []Check{
		{ID: "smart.assertion-alg", Title: "Client assertions are signed RS384 or ES384", Cite: citeAssertion, Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, withAssertion, func(e *requestlog.Entry, _ *view) bool {
					return e.OAuth.AssertionAlg == "RS384" || e.OAuth.AssertionAlg == "ES384"
				}, "client assertions", "are signed with RS384 or ES384")
			}},
		{ID: "smart.assertion-lifetime", Title: "Client assertions expire within five minutes", Cite: citeAssertion, Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, withAssertion, func(e *requestlog.Entry, _ *view) bool {
					return e.OAuth.AssertionLifetime > 0 && e.OAuth.AssertionLifetime <= maxAssertionSeconds
				}, "client assertions", "have an exp in the future and at most five minutes ahead")
			}},
		{ID: "smart.assertion-jti", Title: "Client assertions carry a jti never used before", Cite: citeAssertion, Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, withAssertion, func(e *requestlog.Entry, _ *view) bool {
					return e.OAuth.AssertionJTI && !e.OAuth.JTIReplayed
				}, "client assertions", "carry a jti not used before")
			}},
		{ID: "smart.assertion-iss-sub", Title: "Client assertions name the client as both iss and sub", Cite: citeAssertion,
			Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, withAssertion, func(e *requestlog.Entry, _ *view) bool { return e.OAuth.AssertionIssSub },
					"client assertions", "name the client as both iss and sub")
			}},
	}
}

// discoveryFirst passes when the client read the SMART configuration or
// the CapabilityStatement before its first use of an endpoint they
// announce. Discovery is anonymous, so a discovery request of anyone in
// the sandbox counts: a supplier's sandbox is the supplier's own.
func discoveryFirst() Check {
	return Check{ID: "smart.discovery-first", Title: "Reads the SMART configuration or CapabilityStatement before using endpoints",
		Cite: citeDiscovery, Severity: SeverityWarning,
		Evaluate: func(ev *Evidence) Result {
			views := ev.views()
			var seen refs
			for i := range ev.Entries {
				e, v := &ev.Entries[i], &views[i]
				if v.fhir && isDiscovery(v.rest) && e.Method == "GET" && e.Status < 400 && (v.own || e.ClientID == "") {
					seen.add(e)
					continue
				}
				if !v.own || (e.OAuth == nil && !v.fhir) {
					continue
				}
				if seen.n == 0 {
					var first refs
					first.add(e)
					return fail(first, "the client's first request (%s %s) came before any read of the SMART configuration or /metadata",
						e.Method, e.Path)
				}
				return pass(seen, "the client read the discovery documents before its first request")
			}
			return skip("the client made no request")
		}}
}
