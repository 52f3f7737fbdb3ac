package conformance

import (
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

// checkCase is one fixture of one check and the status it must get.
type checkCase struct {
	check string
	name  string
	ev    *Evidence
	want  Status
	// evidence, when set, is a request id the result must name.
	evidence string
}

func checkCases() []checkCase {
	discover := anon("GET", "/.well-known/smart-configuration", 200)
	authz := func(edit func(*requestlog.OAuth)) entry { return oauth(goodAuthorize(), edit) }
	assertion := func(edit func(*requestlog.OAuth)) entry { return oauth(goodAssertion(), edit) }
	read := fhir("GET", "/Observation?patient=1", 200)
	return []checkCase{
		{"smart.pkce-s256", "S256_Passes", evidence(discover, authz(nil)), Pass, "req-2"},
		{"smart.pkce-s256", "NoChallenge_Fails", evidence(authz(nil), authz(func(f *requestlog.OAuth) { f.Challenge, f.PKCEMethod = false, "" })), Fail, "req-2"},
		{"smart.pkce-s256", "Plain_Fails", evidence(authz(func(f *requestlog.OAuth) { f.PKCEMethod = "plain" })), Fail, "req-1"},
		{"smart.pkce-s256", "NoAuthorize_Skips", evidence(read), Skip, ""},

		{"smart.state-entropy", "UUID_Passes", evidence(authz(nil)), Pass, "req-1"},
		{"smart.state-entropy", "ShortState_Fails", evidence(authz(func(f *requestlog.OAuth) { f.StateLen, f.StateBits = 6, 31 })), Fail, "req-1"},
		{"smart.state-entropy", "NoState_Fails", evidence(authz(func(f *requestlog.OAuth) { f.StateLen, f.StateBits = 0, 0 })), Fail, "req-1"},

		{"smart.aud-fhir-base", "Matches_Passes", evidence(authz(nil)), Pass, "req-1"},
		{"smart.aud-fhir-base", "OtherAud_Fails", evidence(authz(func(f *requestlog.OAuth) { f.Aud, f.AudMatches = "https://x/fhir", false })), Fail, "req-1"},

		{"smart.redirect-uri-exact", "Registered_Passes", evidence(authz(nil)), Pass, "req-1"},
		{"smart.redirect-uri-exact", "Unregistered_Fails", evidence(authz(func(f *requestlog.OAuth) { f.RedirectExact = false })), Fail, "req-1"},

		{"smart.assertion-alg", "ES384_Passes", evidence(assertion(nil)), Pass, "req-1"},
		{"smart.assertion-alg", "RS256_Fails", evidence(assertion(func(f *requestlog.OAuth) { f.AssertionAlg, f.Error = "RS256", "invalid_client" })), Fail, "req-1"},
		{"smart.assertion-alg", "NoAssertion_Skips", evidence(granted("patient/*.rs")), Skip, ""},

		{"smart.assertion-lifetime", "FourMinutes_Passes", evidence(assertion(nil)), Pass, "req-1"},
		{"smart.assertion-lifetime", "OneHour_Fails", evidence(assertion(func(f *requestlog.OAuth) { f.AssertionLifetime = 3600 })), Fail, "req-1"},
		{"smart.assertion-lifetime", "Expired_Fails", evidence(assertion(func(f *requestlog.OAuth) { f.AssertionLifetime = -5 })), Fail, "req-1"},

		{"smart.assertion-jti", "Fresh_Passes", evidence(assertion(nil), assertion(nil)), Pass, "req-2"},
		{"smart.assertion-jti", "Replayed_Fails", evidence(assertion(nil), assertion(func(f *requestlog.OAuth) { f.JTIReplayed = true })), Fail, "req-2"},
		{"smart.assertion-jti", "Missing_Fails", evidence(assertion(func(f *requestlog.OAuth) { f.AssertionJTI = false })), Fail, "req-1"},

		{"smart.assertion-iss-sub", "Same_Passes", evidence(assertion(nil)), Pass, "req-1"},
		{"smart.assertion-iss-sub", "SubDiffers_Fails", evidence(assertion(func(f *requestlog.OAuth) { f.AssertionIssSub = false })), Fail, "req-1"},

		{"smart.discovery-first", "ConfigurationFirst_Passes", evidence(discover, authz(nil), read), Pass, "req-1"},
		{"smart.discovery-first", "MetadataFirst_Passes", evidence(anon("GET", "/metadata", 200), read), Pass, "req-1"},
		{"smart.discovery-first", "StraightToAuthorize_Fails", evidence(authz(nil), discover, read), Fail, "req-1"},
		{"smart.discovery-first", "NothingDone_Skips", evidence(discover), Skip, ""},

		{"oauth.no-token-in-url", "HeaderOnly_Passes", evidence(read), Pass, ""},
		{"oauth.no-token-in-url", "QueryToken_Fails", evidence(read, with(anon("GET", "/Patient/1", 401), func(e *entry) { e.Query = "access_token=REDACTED" })), Fail, "req-2"},
		{"oauth.no-token-in-url", "SecretInTokenURL_Fails", evidence(with(granted("x"), func(e *entry) { e.Query = "client_secret=REDACTED" })), Fail, "req-1"},

		{"smart.least-privilege", "UsedScopes_Passes", evidence(granted("openid patient/Observation.rs"), read), Pass, "req-1"},
		{"smart.least-privilege", "UnusedType_Fails", evidence(granted("patient/Observation.rs patient/Condition.rs"), read), Fail, "req-1"},
		{"smart.least-privilege", "WildcardForOneType_Fails", evidence(granted("patient/*.cruds"), read), Fail, "req-1"},
		{"smart.least-privilege", "WriteNeverUsed_Fails", evidence(granted("patient/Observation.rs patient/Observation.c"), read), Fail, "req-1"},
		{"smart.least-privilege", "NoGrant_Skips", evidence(read), Skip, ""},

		{"smart.refresh-not-reauthorize", "Refreshes_Passes", evidence(authz(nil), granted("offline_access patient/Observation.rs"),
			oauth(requestlog.OAuth{Endpoint: "token", GrantType: "refresh_token"}, nil)), Pass, "req-3"},
		{"smart.refresh-not-reauthorize", "AuthorizesAgain_Fails", evidence(authz(nil), granted("offline_access patient/Observation.rs"),
			authz(nil)), Fail, "req-3"},
		{"smart.refresh-not-reauthorize", "NoRefreshToken_Skips", evidence(authz(nil), granted("patient/Observation.rs"), authz(nil)), Skip, ""},

		{"smart.patient-compartment", "OwnPatient_Passes", evidence(with(read, func(e *entry) { e.Scopes = "launch/patient patient/Observation.rs" })), Pass, "req-1"},
		{"smart.patient-compartment", "OtherPatient_Fails", evidence(with(read, func(e *entry) { e.Scopes = "patient/*.rs" }),
			with(fhir("GET", "/Patient/other", 403), func(e *entry) { e.Scopes = "patient/*.rs" })), Fail, "req-2"},
		{"smart.patient-compartment", "UserToken_Skips", evidence(with(fhir("GET", "/Patient/other", 403), func(e *entry) { e.Scopes = "user/*.rs" })), Skip, ""},

		{"http.back-off", "WaitsAfter429_Passes", evidence(fhir("GET", "/Patient", 429), after(5*time.Second, fhir("GET", "/Patient", 200))), Pass, ""},
		{"http.back-off", "Hammers429_Fails", evidence(fhir("GET", "/Patient", 429), after(100*time.Millisecond, fhir("GET", "/Patient", 429))), Fail, "req-2"},
		{"http.back-off", "BeforeRetryAfter_Fails", evidence(with(fhir("GET", "/Patient", 503), func(e *entry) { e.RetryAfter = 30 * time.Second }),
			after(5*time.Second, fhir("GET", "/Patient", 200))), Fail, "req-2"},
		{"http.back-off", "AfterRetryAfter_Passes", evidence(with(fhir("GET", "/Patient", 503), func(e *entry) { e.RetryAfter = 30 * time.Second }),
			after(31*time.Second, fhir("GET", "/Patient", 200))), Pass, ""},
		{"http.back-off", "Repeats401_Fails", evidence(fhir("GET", "/Patient", 401), after(time.Second, fhir("GET", "/Patient", 401)),
			after(time.Second, fhir("GET", "/Patient", 401)), after(time.Second, fhir("GET", "/Patient", 401))), Fail, "req-4"},
		{"http.back-off", "Retries401Twice_Passes", evidence(fhir("GET", "/Patient", 401), after(time.Second, fhir("GET", "/Patient", 200))), Pass, ""},
		{"http.back-off", "NeverRefused_Skips", evidence(read), Skip, ""},

		{"fhir.accept-fhir-json", "Accept_Passes", evidence(read), Pass, "req-1"},
		{"fhir.accept-fhir-json", "FormatParameter_Passes", evidence(with(read, func(e *entry) { e.Accept, e.Query = "*/*", "_format=json" })), Pass, "req-1"},
		{"fhir.accept-fhir-json", "WellKnownAsJSON_NotJudged", evidence(read, with(fhir("GET", "/.well-known/smart-configuration", 200),
			func(e *entry) { e.Accept = "application/json" })), Pass, "req-1"},
		{"fhir.accept-fhir-json", "AnyType_Fails", evidence(read, with(read, func(e *entry) { e.Accept = "*/*" })), Fail, "req-2"},

		{"fhir.follows-next-link", "Cursor_Passes", evidence(read, fhir("GET", "/Observation?patient=1&_cursor=abc", 200)), Pass, "req-2"},
		{"fhir.follows-next-link", "InventedOffset_Fails", evidence(read, fhir("GET", "/Observation?patient=1&_offset=50", 200)), Fail, "req-2"},
		{"fhir.follows-next-link", "NoPaging_Skips", evidence(read), Skip, ""},

		{"fhir.count-valid", "Fifty_Passes", evidence(fhir("GET", "/Observation?_count=50", 200)), Pass, "req-1"},
		{"fhir.count-valid", "TooLarge_Fails", evidence(fhir("GET", "/Observation?_count=100000", 200)), Fail, "req-1"},
		{"fhir.count-valid", "NotANumber_Fails", evidence(fhir("GET", "/Observation?_count=all", 400)), Fail, "req-1"},

		{"fhir.valid-writes", "Created_Passes", evidence(fhir("POST", "/Observation", 201)), Pass, "req-1"},
		{"fhir.valid-writes", "Invalid_Fails", evidence(fhir("POST", "/Observation", 201), fhir("PUT", "/Patient/1", 422)), Fail, "req-2"},
		{"fhir.valid-writes", "ReadsOnly_Skips", evidence(read), Skip, ""},

		{"fhir.safe-retries", "Conditional_Passes", evidence(with(fhir("POST", "/Observation", 201), func(e *entry) { e.Preconditions = "If-None-Exist" }),
			with(fhir("PUT", "/Patient/1", 200), func(e *entry) { e.Preconditions = "If-Match" })), Pass, "req-2"},
		{"fhir.safe-retries", "PlainCreate_Fails", evidence(fhir("POST", "/Observation", 201)), Fail, "req-1"},
		{"fhir.safe-retries", "BlindUpdate_Fails", evidence(fhir("PUT", "/Patient/1", 200)), Fail, "req-1"},
	}
}

func TestPassiveChecks_Fixtures(t *testing.T) {
	reg := Default()
	for _, tt := range checkCases() {
		t.Run(tt.check+"/"+tt.name, func(t *testing.T) {
			c, ok := reg.Check(tt.check)
			if !ok {
				t.Fatalf("no check %s", tt.check)
			}
			got := c.Evaluate(tt.ev)
			if got.Status != tt.want {
				t.Fatalf("status %s (%s), want %s", got.Status, got.Message, tt.want)
			}
			if got.Message == "" {
				t.Error("no message")
			}
			if tt.evidence != "" && !strings.Contains(strings.Join(got.Evidence, " "), tt.evidence) {
				t.Errorf("evidence %v does not name %s", got.Evidence, tt.evidence)
			}
		})
	}
}

// TestPassiveChecks_EachHasPassingAndFailingFixture keeps the table above
// complete: a check added without fixtures fails here.
func TestPassiveChecks_EachHasPassingAndFailingFixture(t *testing.T) {
	has := map[string]map[Status]bool{}
	for _, tt := range checkCases() {
		if has[tt.check] == nil {
			has[tt.check] = map[Status]bool{}
		}
		has[tt.check][tt.want] = true
	}
	for _, c := range PassiveChecks() {
		if !has[c.ID][Pass] || !has[c.ID][Fail] {
			t.Errorf("check %s lacks a passing or a failing fixture", c.ID)
		}
	}
}

// TestPassiveChecks_OtherClientsEvidenceIgnored: another client's failing
// exchanges in the same sandbox do not fail this client.
func TestPassiveChecks_OtherClientsEvidenceIgnored(t *testing.T) {
	bad := oauth(goodAuthorize(), func(f *requestlog.OAuth) { f.PKCEMethod, f.Challenge = "", false })
	bad.ClientID = "someone-else"
	c, _ := Default().Check("smart.pkce-s256")
	if got := c.Evaluate(evidence(oauth(goodAuthorize(), nil), bad)); got.Status != Pass {
		t.Fatalf("status %s (%s), want pass", got.Status, got.Message)
	}
}
