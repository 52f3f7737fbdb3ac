package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/helseid/helseidtest"
	"hpsandbox/connectors/jft"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

const jftComposition = `{"resourceType":"Composition","identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:%s"},` +
	`"status":"final","type":{"coding":[{"system":"http://loinc.org","code":"11506-3"}]},` +
	`"subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"05873500141"}},` +
	`"date":"2026-03-01T10:00:00+01:00","author":[{"display":"Hjemmetjenesten"}],"title":"Tilsynsnotat"}`

var jftSeq atomic.Int64

func jftDoc() []byte {
	return fmt.Appendf(nil, jftComposition, fmt.Sprintf("7d1c0a52-3b1e-4f7a-9a59-%012d", jftSeq.Add(1)))
}

// jftEnv is a gateway serving the JFT connector, with a secured supplier
// sandbox care-dev whose HelseID client registered itself (RFC 7591), and
// a second sandbox other-dev with a HelseID client of its own.
type jftEnv struct {
	*gatewayEnv
	client, other *helseidtest.Client
	conn          string // care-dev's JFT API
}

func newJFTEnv(t testing.TB) *jftEnv {
	t.Helper()
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Connectors = jft.ID })
	ctx := context.Background()
	who := &tenant.Account{Username: "care-dev", Role: tenant.RoleSupplier, Supplier: "care"}
	if _, err := env.tenants.CreateSandbox(ctx, who, tenant.NewSandbox{ID: "care-dev", Name: "Care", SeedPatients: intPtr(-1),
		Settings: &tenant.Settings{Secured: true, DynamicRegistration: true}}); err != nil {
		t.Fatal(err)
	}
	_, iat, err := env.tenants.IssueRegistrationToken(ctx, who, "care-dev", tenant.NewRegistrationToken{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := helseidtest.New(env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Register(ctx, env.srv.URL+"/sandboxes/care-dev/auth/register", iat,
		"nhn:jft/api system/*.rs", "Care_Journal_5001"); err != nil {
		t.Fatal(err)
	}
	otherWho := &tenant.Account{Username: "other-dev", Role: tenant.RoleSupplier, Supplier: "other"}
	if _, err := env.tenants.CreateSandbox(ctx, otherWho, tenant.NewSandbox{ID: "other-dev", Name: "Other", SeedPatients: intPtr(-1)}); err != nil {
		t.Fatal(err)
	}
	other, err := helseidtest.New(env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := env.tenants.RegisterApp(ctx, otherWho, "other-dev", tenant.NewApp{Name: "Other", Type: "confidential-asymmetric",
		JWKS: other.JWKS(), HelseID: true, Scopes: "nhn:jft/api", VKPID: "Other_Journal_5001"})
	if err != nil {
		t.Fatal(err)
	}
	other.ClientID = app.ClientID
	return &jftEnv{gatewayEnv: env, client: client, other: other, conn: env.srv.URL + "/sandboxes/care-dev/connectors/jft/jft/v1"}
}

func (e *jftEnv) token(t testing.TB, c *helseidtest.Client, scope string) string {
	t.Helper()
	tok, err := c.Token(context.Background(), scope)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", tok.TokenType)
	}
	return tok.AccessToken
}

// call sends a request with the client's DPoP (following a nonce
// challenge) and decodes the JSON answer.
func (e *jftEnv) call(t testing.TB, c *helseidtest.Client, method, u, token string, body []byte) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := c.Do(req, token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

// raw sends a request with exactly the given headers.
func raw(t testing.TB, method, u string, headers map[string]string, body []byte) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func statusParam(p map[string]any, name string) string {
	ps, _ := p["parameter"].([]any)
	for _, x := range ps {
		m, _ := x.(map[string]any)
		if m["name"] == name {
			for k, v := range m {
				if s, ok := v.(string); ok && strings.HasPrefix(k, "value") {
					return s
				}
			}
		}
	}
	return ""
}

// TestJFT_RoundTrip_SenderAndEHRWithDPoPTokens: a HelseID client
// registered by RFC 7591 gets a DPoP-bound token (after the server's
// nonce challenge), submits, follows $status, and as the EHR side lists
// what is not acknowledged, reads and acknowledges; the same token works
// on the FHIR API with DPoP.
func TestJFT_RoundTrip_SenderAndEHRWithDPoPTokens(t *testing.T) {
	e := newJFTEnv(t)
	tok := e.token(t, e.client, "nhn:jft/api system/*.rs")

	resp, body := e.call(t, e.client, http.MethodPost, e.conn+"/Composition", tok, jftDoc())
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, "/sandboxes/care-dev/connectors/jft/jft/v1/Composition/") {
		t.Fatalf("submit: %d %q %v", resp.StatusCode, loc, body)
	}
	sub := e.srv.URL + loc
	if resp, st := e.call(t, e.client, http.MethodGet, sub+"/$status", tok, nil); resp.StatusCode != 200 || statusParam(st, "status") != "registered" {
		t.Fatalf("$status: %d %v", resp.StatusCode, st)
	}
	q := url.Values{"_tag:not": {jft.TagSystem + "|journaled"}}
	resp, list := e.call(t, e.client, http.MethodGet, e.conn+"/Composition?"+q.Encode(), tok, nil)
	if resp.StatusCode != 200 || list["total"] != 1.0 {
		t.Fatalf("EHR list: %d %v", resp.StatusCode, list)
	}
	if resp, r := e.call(t, e.client, http.MethodGet, sub, tok, nil); resp.StatusCode != 200 || r["resourceType"] != "Composition" {
		t.Fatalf("EHR read: %d %v", resp.StatusCode, r)
	}
	if resp, st := e.call(t, e.client, http.MethodPost, sub+"/$journaling-acknowledged", tok, nil); resp.StatusCode != 200 || statusParam(st, "status") != "journaled" {
		t.Fatalf("ack: %d %v", resp.StatusCode, st)
	}
	_, st := e.call(t, e.client, http.MethodGet, sub+"/$status", tok, nil)
	for _, step := range []string{"registered", "read", "journaled"} {
		if statusParam(st, step) == "" {
			t.Errorf("$status has no %s time: %v", step, st)
		}
	}
	if _, list := e.call(t, e.client, http.MethodGet, e.conn+"/Composition?"+q.Encode(), tok, nil); list["total"] != 0.0 {
		t.Errorf("the acknowledged submission is still listed as not journaled: %v", list)
	}

	// The other types, a VKP-profiled dispensing among them.
	for typ, file := range map[string]string{"Bundle": "bundle.json", "MedicationDispense": "dispense.json"} {
		doc, err := os.ReadFile(filepath.Join("..", "connectors", "jft", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		if resp, b := e.call(t, e.client, http.MethodPost, e.conn+"/"+typ, tok, doc); resp.StatusCode != http.StatusAccepted {
			t.Errorf("submitting %s: %d %v", file, resp.StatusCode, b)
		}
	}

	// Another sandbox's client does not reach the submission through its
	// own sandbox's path.
	otherTok := e.token(t, e.other, "nhn:jft/api")
	otherSub := strings.Replace(sub, "/sandboxes/care-dev/", "/sandboxes/other-dev/", 1)
	for _, u := range []string{otherSub, otherSub + "/$status"} {
		if resp, b := e.call(t, e.other, http.MethodGet, u, otherTok, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another sandbox's client on %s: %d %v, want 404", u, resp.StatusCode, b)
		}
	}

	// Every message is evidence of the connector, with the token's scopes.
	ctx := context.Background()
	if err := e.gw.recorder.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := e.gw.requests.Query(ctx, requestlog.Filter{Sandbox: "care-dev", Connector: jft.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) < 7 {
		t.Errorf("%d request-log entries of the connector; want one per message", len(page.Entries))
	}
	for _, en := range page.Entries {
		if en.Status < 400 && (!strings.Contains(en.Scopes, "nhn:jft/api") || en.ClientID != e.client.ClientID) {
			t.Errorf("entry %s %s: scopes %q, client %q; want the token's", en.Method, en.Path, en.Scopes, en.ClientID)
		}
	}

	// The FHIR API takes the bound token with DPoP only.
	fhir := e.srv.URL + "/sandboxes/care-dev/fhir/Composition"
	if resp, b := e.call(t, e.client, http.MethodGet, fhir, tok, nil); resp.StatusCode != 200 || b["total"] != 1.0 {
		t.Errorf("FHIR API with DPoP: %d %v", resp.StatusCode, b)
	}
	if resp, _ := raw(t, http.MethodGet, fhir, map[string]string{"Authorization": "Bearer " + tok}, nil); resp.StatusCode != 401 ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("FHIR API with the bound token as Bearer: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestJFT_Refusals: every way in that is not the rule is refused with the
// status and body the services answer, and stores nothing.
func TestJFT_Refusals(t *testing.T) {
	e := newJFTEnv(t)
	tok := e.token(t, e.client, "nhn:jft/api system/*.rs")
	submit := e.conn + "/Composition"
	proof := func(method, htu, token string, edit func(map[string]any)) string {
		p, err := e.client.Proof(method, htu, e.client.Nonce(), token, edit)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("ReplayedAssertionJTI", func(t *testing.T) {
		a, err := e.client.Assertion(nil)
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"nhn:jft/api"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
		post := func() (*http.Response, map[string]any) {
			h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "DPoP": proof(http.MethodPost, e.client.TokenURL(), "", nil)}
			return raw(t, http.MethodPost, e.client.TokenURL(), h, []byte(form.Encode()))
		}
		if resp, b := post(); resp.StatusCode != 200 {
			t.Fatalf("first use: %d %v", resp.StatusCode, b)
		}
		if resp, b := post(); resp.StatusCode != 401 || b["error"] != "invalid_client" {
			t.Fatalf("replayed assertion: %d %v, want 401 invalid_client", resp.StatusCode, b)
		}
	})
	t.Run("AssertionLivesOver60s", func(t *testing.T) {
		a, _ := e.client.Assertion(func(c map[string]any) { c["exp"] = time.Now().Add(2 * time.Minute).Unix() })
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"nhn:jft/api"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
		h := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "DPoP": proof(http.MethodPost, e.client.TokenURL(), "", nil)}
		if resp, b := raw(t, http.MethodPost, e.client.TokenURL(), h, []byte(form.Encode())); resp.StatusCode != 401 || b["error"] != "invalid_client" {
			t.Fatalf("%d %v, want 401 invalid_client", resp.StatusCode, b)
		}
	})
	t.Run("UnregisteredScope", func(t *testing.T) {
		_, err := e.client.Token(context.Background(), "nhn:vkp/api/user/Observation.write")
		var oe *helseidtest.OAuthError
		if !asOAuth(err, &oe) || oe.Status != 400 || oe.Code != "invalid_scope" {
			t.Fatalf("%v, want 400 invalid_scope", err)
		}
	})

	for _, tt := range []struct {
		name    string
		headers func() map[string]string
		body    []byte
		status  int
		want    string // in WWW-Authenticate, or the issue code for 413
	}{
		{"NoToken", func() map[string]string { return nil }, jftDoc(), 401, ""},
		{"BearerUseOfBoundToken", func() map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }, jftDoc(), 401, `error="invalid_token"`},
		{"DPoPWithoutProof", func() map[string]string { return map[string]string{"Authorization": "DPoP " + tok} }, jftDoc(), 401, `error="invalid_dpop_proof"`},
		{"HTUMismatch", func() map[string]string {
			return map[string]string{"Authorization": "DPoP " + tok, "DPoP": proof(http.MethodPost, e.conn+"/Bundle", tok, nil)}
		}, jftDoc(), 401, `error="invalid_dpop_proof"`},
		{"HTMMismatch", func() map[string]string {
			return map[string]string{"Authorization": "DPoP " + tok, "DPoP": proof(http.MethodGet, submit, tok, nil)}
		}, jftDoc(), 401, `error="invalid_dpop_proof"`},
		{"ProofForAnotherToken", func() map[string]string {
			return map[string]string{"Authorization": "DPoP " + tok, "DPoP": proof(http.MethodPost, submit, tok+"x", nil)}
		}, jftDoc(), 401, `error="invalid_dpop_proof"`},
		{"ProofWithoutNonce", func() map[string]string {
			p, _ := e.client.Proof(http.MethodPost, submit, "", tok, nil)
			return map[string]string{"Authorization": "DPoP " + tok, "DPoP": p}
		}, jftDoc(), 401, `error="use_dpop_nonce"`},
		{"OtherSandboxsToken", func() map[string]string {
			otherTok := e.token(t, e.other, "nhn:jft/api")
			p, _ := e.other.Proof(http.MethodPost, submit, e.client.Nonce(), otherTok, nil)
			return map[string]string{"Authorization": "DPoP " + otherTok, "DPoP": p}
		}, jftDoc(), 401, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := raw(t, http.MethodPost, submit, tt.headers(), tt.body)
			if resp.StatusCode != tt.status || b["resourceType"] != "OperationOutcome" {
				t.Fatalf("%d %v; want %d with an OperationOutcome", resp.StatusCode, b, tt.status)
			}
			if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, tt.want) || h == "" {
				t.Errorf("WWW-Authenticate %q; want %s", h, tt.want)
			}
			if strings.Contains(tt.want, "use_dpop_nonce") && resp.Header.Get("DPoP-Nonce") == "" {
				t.Error("no DPoP-Nonce with use_dpop_nonce")
			}
		})
	}

	t.Run("ReplayedProof", func(t *testing.T) {
		h := map[string]string{"Authorization": "DPoP " + tok, "DPoP": proof(http.MethodGet, e.conn+"/Composition", tok, nil)}
		if resp, b := raw(t, http.MethodGet, e.conn+"/Composition", h, nil); resp.StatusCode != 200 {
			t.Fatalf("first use: %d %v", resp.StatusCode, b)
		}
		if resp, _ := raw(t, http.MethodGet, e.conn+"/Composition", h, nil); resp.StatusCode != 401 ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_dpop_proof") {
			t.Fatalf("replayed proof: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("StaleNonce", func(t *testing.T) {
		stale := e.client.Nonce()
		e.clock.Advance(11 * time.Minute)
		defer e.clock.Advance(-11 * time.Minute)
		p, _ := e.client.Proof(http.MethodPost, submit, stale, tok, func(c map[string]any) { c["iat"] = e.clock.Now().Unix() })
		resp, _ := raw(t, http.MethodPost, submit, map[string]string{"Authorization": "DPoP " + tok, "DPoP": p}, jftDoc())
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce") ||
			resp.Header.Get("DPoP-Nonce") == "" || resp.Header.Get("DPoP-Nonce") == stale {
			t.Fatalf("stale nonce: %d %q nonce %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("DPoP-Nonce"))
		}
	})
	t.Run("MissingScope", func(t *testing.T) {
		narrow := e.token(t, e.client, "system/*.rs")
		resp, b := e.call(t, e.client, http.MethodPost, submit, narrow, jftDoc())
		if resp.StatusCode != 403 || b["resourceType"] != "OperationOutcome" ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
			t.Fatalf("%d %v %q; want 403 insufficient_scope", resp.StatusCode, b, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("Over1MB", func(t *testing.T) {
		big := append([]byte(`{"resourceType":"Composition","title":"`), bytes.Repeat([]byte("x"), jft.MaxMessageBytes)...)
		big = append(big, `"}`...)
		resp, b := e.call(t, e.client, http.MethodPost, submit, tok, big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || b["resourceType"] != "OperationOutcome" {
			t.Fatalf("%d %v; want 413 with an OperationOutcome", resp.StatusCode, b)
		}
	})

	// Nothing refused was stored.
	if _, list := e.call(t, e.client, http.MethodGet, e.conn+"/Composition", tok, nil); list["total"] != 0.0 {
		t.Errorf("refused submissions stored: %v", list["total"])
	}
}

func asOAuth(err error, target **helseidtest.OAuthError) bool {
	oe, ok := err.(*helseidtest.OAuthError)
	if ok {
		*target = oe
	}
	return ok
}

// BenchmarkJFTSubmit_DPoP measures submissions per second through the
// gateway, each with a fresh DPoP proof verified against the bound token.
func BenchmarkJFTSubmit_DPoP(b *testing.B) {
	e := newJFTEnv(b)
	tok := e.token(b, e.client, "nhn:jft/api")
	u := e.conn + "/Composition"
	e.call(b, e.client, http.MethodGet, e.conn+"/Composition", tok, nil) // the nonce
	// Senders are many and each waits on its answer: the store commits
	// their writes in groups.
	b.SetParallelism(64)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(jftDoc()))
			req.Header.Set("Content-Type", "application/fhir+json")
			resp, err := e.client.Do(req, tok)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "submissions/s")
}

// TestJFT_ConformanceProfiles: the connector's checks are in the registry
// under the profiles "JFT sender" and "JFT reader (EHR side)".
func TestJFT_ConformanceProfiles(t *testing.T) {
	var reg connectors.Registry
	if err := reg.Register(jft.ID, jft.Open); err != nil {
		t.Fatal(err)
	}
	set, err := reg.Open(connectors.Deps{Engine: sandboxEngine{}})
	if err != nil {
		t.Fatal(err)
	}
	checks, err := checkRegistry(set)
	if err != nil {
		t.Fatal(err)
	}
	for id, title := range map[string]string{jft.ProfileSender: "JFT sender", jft.ProfileReader: "JFT reader (EHR side)"} {
		p, ok := checks.Profile(id)
		if !ok || p.Title != title || len(p.Checks) == 0 {
			t.Errorf("profile %s: %+v, %v; want %q with checks", id, p, ok, title)
		}
	}
}
