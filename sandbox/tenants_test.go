package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/sandbox/tenant"
)

// supplierSandbox creates sandbox id (empty, secured) for supplier with a
// backend app that signs with the test EC key, and returns its FHIR base
// and a system/*.cruds token of the app.
func (env *gatewayEnv) supplierSandbox(t *testing.T, id, supplier string, settings *tenant.Settings) (base, token string) {
	t.Helper()
	ctx := context.Background()
	who := &tenant.Account{Username: supplier + "-dev", Role: tenant.RoleSupplier, Supplier: supplier}
	if _, err := env.tenants.CreateSandbox(ctx, who, tenant.NewSandbox{ID: id, Name: id, SeedPatients: intPtr(-1), Settings: settings}); err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384", Use: "sig"}}})
	app, _, err := env.tenants.RegisterApp(ctx, who, id, tenant.NewApp{Name: id + " backend", Type: "confidential-asymmetric",
		JWKS: jwks, Scopes: "system/*.cruds"})
	if err != nil {
		t.Fatal(err)
	}
	return env.srv.URL + "/sandboxes/" + id + "/fhir", env.backendToken(t, app.ClientID, "system/*.cruds")
}

// TestSandboxes_IsolationIsAbsolute writes the same ids into two
// suppliers' sandboxes and proves that nothing through one base reaches
// the other: read, search, _include, history, transactions, and tokens.
func TestSandboxes_IsolationIsAbsolute(t *testing.T) {
	env := newGatewayEnv(t, false)
	baseA, tokA := env.supplierSandbox(t, "acme-dev", "acme", nil)
	baseB, tokB := env.supplierSandbox(t, "bravo-dev", "bravo", nil)
	put := func(base, tok, path, body string) {
		t.Helper()
		if resp, out := env.fhirAt(t, base, http.MethodPut, path, tok, body); resp.StatusCode >= 300 {
			t.Fatalf("PUT %s%s: %d %v", base, path, resp.StatusCode, out)
		}
	}
	put(baseA, tokA, "/Patient/same", `{"resourceType":"Patient","id":"same","identifier":[{"system":"urn:t","value":"a-1"}],"name":[{"family":"Acme"}]}`)
	put(baseA, tokA, "/Patient/only-a", `{"resourceType":"Patient","id":"only-a","identifier":[{"system":"urn:t","value":"only-a"}],"name":[{"family":"Eksklusiv"}]}`)
	put(baseA, tokA, "/Observation/obs", `{"resourceType":"Observation","id":"obs","status":"final","code":{"text":"A"},"subject":{"reference":"Patient/only-a"}}`)
	put(baseB, tokB, "/Patient/same", `{"resourceType":"Patient","id":"same","name":[{"family":"Bravo"}]}`)
	put(baseB, tokB, "/Observation/obs", `{"resourceType":"Observation","id":"obs","status":"final","code":{"text":"B"},"subject":{"reference":"Patient/only-a"}}`)

	family := func(body map[string]any) string {
		names, _ := body["name"].([]any)
		if len(names) == 0 {
			return ""
		}
		f, _ := names[0].(map[string]any)["family"].(string)
		return f
	}
	entries := func(body map[string]any) (ids []string) {
		es, _ := body["entry"].([]any)
		for _, e := range es {
			r, _ := e.(map[string]any)["resource"].(map[string]any)
			if r != nil {
				ids = append(ids, r["resourceType"].(string)+"/"+r["id"].(string)+"@"+family(r))
			}
		}
		return ids
	}

	t.Run("read", func(t *testing.T) {
		if _, body := env.fhirAt(t, baseB, "GET", "/Patient/same", tokB, ""); family(body) != "Bravo" {
			t.Errorf("B reads %v", body)
		}
		if _, body := env.fhirAt(t, baseA, "GET", "/Patient/same", tokA, ""); family(body) != "Acme" {
			t.Errorf("A reads %v", body)
		}
		if resp, _ := env.fhirAt(t, baseB, "GET", "/Patient/only-a", tokB, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("B reads A's patient: %d", resp.StatusCode)
		}
		if resp, _ := env.fhirAt(t, baseB, "GET", "/Patient/same/_history/2", tokB, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("B vreads a version only A has: %d", resp.StatusCode)
		}
	})
	t.Run("search and _include", func(t *testing.T) {
		_, body := env.fhirAt(t, baseB, "GET", "/Patient?identifier=urn:t|only-a", tokB, "")
		if got := entries(body); len(got) != 0 {
			t.Errorf("B finds A's identifier: %v", got)
		}
		_, body = env.fhirAt(t, baseB, "GET", "/Observation?_include=Observation:subject", tokB, "")
		if got := strings.Join(entries(body), ","); got != "Observation/obs@" {
			t.Errorf("B's _include: %s, want its own observation and no patient", got)
		}
		_, body = env.fhirAt(t, baseB, "GET", "/Patient?_revinclude=Observation:subject&_id=only-a", tokB, "")
		if got := entries(body); len(got) != 0 {
			t.Errorf("B's _revinclude: %v", got)
		}
		_, body = env.fhirAt(t, baseA, "GET", "/Observation?subject.name=Eksklusiv", tokA, "")
		if got := strings.Join(entries(body), ","); got != "Observation/obs@" {
			t.Errorf("A's chain: %s", got)
		}
		_, body = env.fhirAt(t, baseB, "GET", "/Observation?subject.name=Eksklusiv", tokB, "")
		if got := entries(body); len(got) != 0 {
			t.Errorf("B's chain reaches A's patient: %v", got)
		}
	})
	t.Run("history", func(t *testing.T) {
		_, body := env.fhirAt(t, baseB, "GET", "/_history", tokB, "")
		for _, id := range entries(body) {
			if strings.Contains(id, "Acme") || strings.Contains(id, "only-a") {
				t.Errorf("B's system history holds %s", id)
			}
		}
		if body["total"] != float64(2) {
			t.Errorf("B's history total %v, want its 2 versions", body["total"])
		}
	})
	t.Run("transaction", func(t *testing.T) {
		bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:6f1b8d2e-0000-4000-8000-000000000001","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},
				"subject":{"reference":"Patient?identifier=urn:t|only-a"}},"request":{"method":"POST","url":"Observation"}}]}`
		resp, body := env.fhirAt(t, baseB, "POST", "", tokB, bundle)
		if resp.StatusCode < 400 {
			t.Errorf("B's conditional reference resolved to A's patient: %d %v", resp.StatusCode, body)
		}
		bundle = `{"resourceType":"Bundle","type":"transaction","entry":[
			{"resource":{"resourceType":"Patient","id":"same","name":[{"family":"Bravo2"}]},"request":{"method":"PUT","url":"Patient/same"}},
			{"request":{"method":"DELETE","url":"Patient/only-a"}}]}`
		if resp, body := env.fhirAt(t, baseB, "POST", "", tokB, bundle); resp.StatusCode != http.StatusOK {
			t.Fatalf("B's transaction: %d %v", resp.StatusCode, body)
		}
		if _, body := env.fhirAt(t, baseA, "GET", "/Patient/same", tokA, ""); family(body) != "Acme" {
			t.Errorf("A's patient after B's transaction: %v", body)
		}
		if resp, _ := env.fhirAt(t, baseA, "GET", "/Patient/only-a", tokA, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("A's patient after B deleted the same id: %d", resp.StatusCode)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		demo := env.backendToken(t, DemoBackendClientID, "system/*.rs")
		for _, tt := range []struct{ name, base, tok string }{
			{"A's token at B", baseB, tokA}, {"B's token at A", baseA, tokB},
			{"default token at A", baseA, demo}, {"A's token at the default base", env.fhirBase(), tokA},
		} {
			resp, _ := env.fhirAt(t, tt.base, "GET", "/Patient/same", tt.tok, "")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
				t.Errorf("%s: %d %q, want 401 invalid_token", tt.name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		}
		if resp, _ := env.fhirAt(t, baseA, "GET", "/Patient/same", "", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a secured sandbox without a token: %d", resp.StatusCode)
		}
	})
}

func TestSandboxes_RoutingSettingsAndRegistration(t *testing.T) {
	env := newGatewayEnv(t, false)
	open := tenant.DefaultSettings()
	open.Secured, open.DynamicRegistration, open.RegistrationScopes = false, true, "patient/*.rs"
	baseOpen, tok := env.supplierSandbox(t, "open-dev", "acme", &open)

	for _, path := range []string{"/sandboxes/nope/fhir/Patient", "/sandboxes/default/fhir/metadata"} {
		resp, body := env.fhirAt(t, env.srv.URL, "GET", path, "", "")
		if resp.StatusCode != http.StatusNotFound || body["resourceType"] != "OperationOutcome" {
			t.Errorf("%s: %d %v, want 404 OperationOutcome", path, resp.StatusCode, body)
		}
	}
	// An open sandbox answers without a token; a token sent is still checked.
	if resp, body := env.fhirAt(t, baseOpen, "GET", "/Patient", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("open sandbox without token: %d %v", resp.StatusCode, body)
	}
	if resp, _ := env.fhirAt(t, baseOpen, "GET", "/Patient", tok+"x", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("open sandbox with a bad token: %d", resp.StatusCode)
	}
	// Links in bundles name the sandbox's own base.
	_, body := env.fhirAt(t, baseOpen, "GET", "/Patient", "", "")
	if links, _ := body["link"].([]any); len(links) == 0 || !strings.HasPrefix(links[0].(map[string]any)["url"].(string), baseOpen+"/Patient") {
		t.Errorf("self link %v, want under %s", body["link"], baseOpen)
	}
	// Discovery under the sandbox's base names its registration endpoint,
	// which registers apps into that sandbox only.
	_, disc := env.fhirAt(t, baseOpen, "GET", "/.well-known/smart-configuration", "", "")
	reg, _ := disc["registration_endpoint"].(string)
	if reg != env.srv.URL+"/sandboxes/open-dev/auth/register" {
		t.Fatalf("registration_endpoint %q", reg)
	}
	resp, err := http.Post(reg, "application/json", strings.NewReader(`{"client_name":"Dyn","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %v", resp.StatusCode, out)
	}
	c, err := env.tenants.Clients().Client(context.Background(), out["client_id"].(string))
	if err != nil || c.Sandbox != "open-dev" {
		t.Errorf("registered client %+v %v", c, err)
	}
	// An authorization of that app must name its sandbox's base as aud.
	for aud, want := range map[string]string{baseOpen: "", env.fhirBase(): "invalid_request"} {
		q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {"http://127.0.0.1/cb"}, "scope": {"patient/*.rs launch/patient"},
			"state": {"s"}, "aud": {aud}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
		resp, err := noRedirect.Get(env.srv.URL + "/auth/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		// Accepted, the user goes on to the login page (303); refused, back
		// to the app with the error (302).
		if got := loc.Query().Get("error"); resp.StatusCode/100 != 3 || got != want {
			t.Errorf("aud %s: %d error=%q, want %q", aud, resp.StatusCode, got, want)
		}
	}
	// Deleting the sandbox ends its base and its tokens at once.
	who := &tenant.Account{Username: "acme-dev", Role: tenant.RoleSupplier, Supplier: "acme"}
	if err := env.tenants.DeleteSandbox(context.Background(), who, "open-dev"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := env.fhirAt(t, baseOpen, "GET", "/Patient", tok, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted sandbox: %d, want 404", resp.StatusCode)
	}
}

// TestSandboxes_TokensDieWithTheirAppAndSandbox: a deleted app's tokens
// are refused, and so are a deleted sandbox's, even where another supplier
// has since made a sandbox of the same id.
func TestSandboxes_TokensDieWithTheirAppAndSandbox(t *testing.T) {
	env := newGatewayEnv(t, false)
	ctx := context.Background()
	base, tok := env.supplierSandbox(t, "reused", "acme", nil)
	if resp, _ := env.fhirAt(t, base, "GET", "/Patient", tok, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	acme := &tenant.Account{Username: "acme-dev", Role: tenant.RoleSupplier, Supplier: "acme"}
	apps, err := env.tenants.Apps(ctx, acme, "reused")
	if err != nil || len(apps) != 1 {
		t.Fatalf("apps %v %v", apps, err)
	}
	if err := env.tenants.DeleteApp(ctx, acme, "reused", apps[0].ClientID); err != nil {
		t.Fatal(err)
	}
	env.clock.Advance(settingsTTL) // what this gateway remembers of the app
	resp, _ := env.fhirAt(t, base, "GET", "/Patient", tok, "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "no longer registered") {
		t.Errorf("token of a deleted app: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	base, tok = env.supplierSandbox(t, "reused-2", "acme", nil)
	if err := env.tenants.DeleteSandbox(ctx, acme, "reused-2"); err != nil {
		t.Fatal(err)
	}
	env.supplierSandbox(t, "reused-2", "bravo", nil)
	if resp, _ := env.fhirAt(t, base, "GET", "/Patient", tok, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a deleted sandbox's token in a new sandbox of its id: %d, want 401", resp.StatusCode)
	}
}
