package smart

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// events is an Observer that keeps what it is told.
type events struct {
	mu  sync.Mutex
	got []Event
}

func (o *events) Observe(_ context.Context, ev Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, ev)
}

// last returns the last event, failing the test when there is none.
func (o *events) last(t *testing.T) Event {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.got) == 0 {
		t.Fatal("nothing observed")
	}
	return o.got[len(o.got)-1]
}

func observed(env *testEnv) *events {
	o := &events{}
	env.srv.observer = o
	return o
}

func TestObserve_Authorize_RecordsTheRequestsFacts(t *testing.T) {
	tests := []struct {
		name string
		edit func(q url.Values, env *testEnv)
		want func(f Facts) bool
	}{
		{"Valid_PKCES256StateAudRedirect", func(url.Values, *testEnv) {},
			func(f Facts) bool {
				return f.ResponseType == "code" && f.PKCEMethod == "S256" && f.Challenge && f.StateLen == 6 &&
					f.RedirectExact && f.AudMatches && f.Error == "" && f.Scope == simpleRequest
			}},
		{"NoPKCE_RefusedAndRecorded", func(q url.Values, _ *testEnv) { q.Del("code_challenge"); q.Del("code_challenge_method") },
			func(f Facts) bool { return f.PKCEMethod == "" && !f.Challenge && f.Error == "invalid_request" }},
		{"PlainPKCE_MethodRecorded", func(q url.Values, _ *testEnv) { q.Set("code_challenge_method", "plain") },
			func(f Facts) bool { return f.PKCEMethod == "plain" && f.Error == "invalid_request" }},
		{"WrongAud_Recorded", func(q url.Values, _ *testEnv) { q.Set("aud", "https://elsewhere.example/fhir") },
			func(f Facts) bool { return !f.AudMatches && f.Aud == "https://elsewhere.example/fhir" }},
		{"UnregisteredRedirect_Recorded", func(q url.Values, _ *testEnv) { q.Set("redirect_uri", testRedirect+"/other") },
			func(f Facts) bool { return !f.RedirectExact && f.Error == "invalid_request" }},
		{"NoState_ZeroLength", func(q url.Values, _ *testEnv) { q.Del("state") },
			func(f Facts) bool { return f.StateLen == 0 && f.StateBits == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, skipAll)
			o := observed(env)
			q := env.authorizeParams(simpleRequest)
			tt.edit(q, env)
			env.get(t, "/auth/authorize", q).Body.Close()
			ev := o.last(t)
			if ev.ClientID != publicID || ev.Sandbox != testSandbox || !ev.Known || ev.Facts.Endpoint != EndpointAuthorize {
				t.Errorf("event names %q of %q (known %v) at %q", ev.ClientID, ev.Sandbox, ev.Known, ev.Facts.Endpoint)
			}
			if !tt.want(ev.Facts) {
				t.Errorf("facts %+v", ev.Facts)
			}
			if s := fmt.Sprintf("%+v", ev); strings.Contains(s, "st-123") || strings.Contains(s, q.Get("code_challenge")) && q.Get("code_challenge") != "" {
				t.Errorf("the event holds the state or the challenge: %s", s)
			}
		})
	}
}

func TestObserve_Token_RecordsGrantAuthAndGrantedScope(t *testing.T) {
	env := newTestEnv(t, skipAll)
	o := observed(env)
	code := env.codeFor(t, env.authorizeParams(simpleRequest))
	env.exchange(t, code)
	ev := o.last(t)
	f := ev.Facts
	if f.Endpoint != EndpointToken || f.GrantType != "authorization_code" || f.ClientAuth != authNone || !f.Verifier ||
		f.Error != "" || ev.Granted == "" || ev.Sandbox != testSandbox || ev.ClientID != publicID {
		t.Fatalf("event %+v", ev)
	}
	if s := fmt.Sprintf("%+v", ev); strings.Contains(s, code) || strings.Contains(s, testVerifier) {
		t.Fatalf("the event holds the code or the verifier: %s", s)
	}

	// The same code again is refused; the refusal is evidence too.
	env.exchange(t, code)
	if f := o.last(t).Facts; f.Error != "invalid_grant" {
		t.Fatalf("replayed code: facts %+v", f)
	}

	env.tokenCall(t, "/auth/token", url.Values{"grant_type": {"password"}}, symmetricID, symmetricPW)
	if ev := o.last(t); ev.Facts.Error != "unsupported_grant_type" || ev.Facts.ClientAuth != authSecretBasic || ev.ClientID != symmetricID || !ev.Known {
		t.Fatalf("unsupported grant: event %+v", ev)
	}
}

func TestObserve_ClientAssertion_RecordsAlgLifetimeAndReplay(t *testing.T) {
	env, _ := backendEnv(t)
	o := observed(env)
	assertion := env.assertion(t, backendES, testECKey(), jose.ES384, "es-1", nil)
	env.clientCredentials(t, assertion, "system/Observation.rs")
	f := o.last(t).Facts
	if f.ClientAuth != authPrivateKeyJWT || f.AssertionAlg != "ES384" || f.AssertionLifetime != 240 || !f.AssertionIssSub ||
		!f.AssertionJTI || f.JTIReplayed || f.Error != "" {
		t.Fatalf("facts %+v", f)
	}
	env.clientCredentials(t, assertion, "system/Observation.rs")
	if f := o.last(t).Facts; !f.JTIReplayed || f.Error != "invalid_client" {
		t.Fatalf("replayed assertion: facts %+v", f)
	}
	long := env.assertion(t, backendES, testECKey(), jose.ES384, "es-1", func(c map[string]any) {
		c["exp"] = env.clock.Now().Unix() + 3600
		c["sub"] = "someone-else"
		delete(c, "jti")
	})
	env.clientCredentials(t, long, "system/Observation.rs")
	if ev := o.last(t); ev.Facts.AssertionLifetime != 3600 || ev.Facts.AssertionIssSub || ev.Facts.AssertionJTI ||
		ev.Facts.Error != "invalid_client" || ev.ClientID != backendES || ev.Sandbox != testSandbox {
		t.Fatalf("long-lived assertion: event %+v", ev)
	}
}

func TestObserve_RevokeAndIntrospect_Recorded(t *testing.T) {
	env := newTestEnv(t, skipAll)
	o := observed(env)
	env.tokenCall(t, "/auth/revoke", url.Values{"token": {"whatever"}}, symmetricID, symmetricPW)
	if ev := o.last(t); ev.Facts.Endpoint != EndpointRevoke || ev.Facts.Error != "" || ev.ClientID != symmetricID {
		t.Fatalf("revoke: event %+v", ev)
	}
	env.tokenCall(t, "/auth/introspect", url.Values{"token": {"whatever"}, "client_id": {publicID}}, "", "")
	if ev := o.last(t); ev.Facts.Endpoint != EndpointIntrospect || ev.Facts.Error != "invalid_client" || ev.Sandbox != testSandbox {
		t.Fatalf("introspect: event %+v", ev)
	}
}

func TestObserve_NoObserver_NothingBuilt(t *testing.T) {
	env := newTestEnv(t, skipAll)
	if ev := env.srv.newEvent(EndpointToken); ev != nil {
		t.Fatalf("newEvent without an observer = %+v, want nil", ev)
	}
}

func TestEntropyBits_ShortAndRepetitiveValuesScoreLow(t *testing.T) {
	tests := []struct {
		value    string
		min, max int
	}{
		{"", 0, 0},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, 0},
		{"st-123", 0, 40},
		{"12345678", 0, 30},
		{"9b2f6c1e-4a7d-4f3b-8e2a-1c5d7e9f0a3b", 122, 200}, // a random UUID
		{"R3q8ZKx2LmN0pT7vW9yB4cD6fH1jS5uE", 122, 250},     // 32 base64url characters
		{"0f1e2d3c4b5a69788796a5b4c3d2e1f0", 122, 140},     // 128 bits in hexadecimal
	}
	for _, tt := range tests {
		if got := entropyBits(tt.value); got < tt.min || got > tt.max {
			t.Errorf("entropyBits(%q) = %d, want %d to %d", tt.value, got, tt.min, tt.max)
		}
	}
}

// FuzzFacts_FromAssertion reads client assertions as the evidence does,
// unverified: whatever a client sends, it must not panic, and the facts
// must stay bounded.
func FuzzFacts_FromAssertion(f *testing.F) {
	f.Add("eyJhbGciOiJFUzM4NCJ9.eyJpc3MiOiJhIiwic3ViIjoiYSIsImp0aSI6IngiLCJleHAiOjE3MDAwMDAwMDB9.c2ln")
	f.Add("a.b.c")
	f.Add("...")
	f.Add("eyJhbGciOiJub25lIn0.eyJleHAiOjFlMzA4fQ.")
	f.Fuzz(func(t *testing.T, assertion string) {
		var facts Facts
		iss := facts.fromAssertion(assertion, time.Unix(1_700_000_000, 0))
		if len(facts.AssertionAlg) > 16 || len(iss) > len(assertion) {
			t.Fatalf("facts %+v, iss %q", facts, iss)
		}
	})
}

// FuzzEntropyBits: any state a client sends gets an estimate no greater
// than its length times the bits of the widest alphabet counted.
func FuzzEntropyBits(f *testing.F) {
	for _, s := range []string{"", "st-123", "9b2f6c1e-4a7d-4f3b-8e2a-1c5d7e9f0a3b", "ÆØÅ\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := entropyBits(s); got < 0 || got > len(s)*7 {
			t.Fatalf("entropyBits(%q) = %d", s, got)
		}
	})
}
