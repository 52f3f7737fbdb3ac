package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/smart/redisstate/redistest"
)

// openGateway opens the gateway `sandbox serve` runs over a store in dir.
func openGateway(t *testing.T, cfg Config) *Gateway {
	t.Helper()
	store, err := sqlite.Open(context.Background(), cfg.DataDir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	gw, err := Open(context.Background(), cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	return gw
}

func serveOnce(h http.Handler, method, target, auth string, form url.Values) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestOpen_SigningKeyIsMadeOnceInTheDataDirAndTokensSurviveARestartWithRedis(t *testing.T) {
	redisURL := redistest.Start(t)
	env := newGatewayEnv(t, true) // for its JWKS file and assertion signer
	cfg := env.cfg
	cfg.DataDir = t.TempDir()
	cfg.RedisURL = redisURL
	// The issuer is fixed by the public URL; requests below go straight to
	// the handler.
	cfg.PublicURL = env.srv.URL

	first := openGateway(t, cfg)
	info, err := os.Stat(filepath.Join(cfg.DataDir, SigningKeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", info, err)
	}
	jwks := serveOnce(first, "GET", "/auth/jwks", "", nil).Body.String()
	rec := serveOnce(first, "POST", "/auth/token", "", url.Values{
		"grant_type": {"client_credentials"}, "scope": {"system/Patient.rs"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {env.assertion(t, DemoBackendClientID)},
	})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	second := openGateway(t, cfg)
	if got := serveOnce(second, "GET", "/auth/jwks", "", nil).Body.String(); got != jwks {
		t.Errorf("JWKS changed across a restart:\n%s\n%s", jwks, got)
	}
	if rec := serveOnce(second, "GET", "/fhir/Patient", tok.AccessToken, nil); rec.Code != http.StatusOK {
		t.Errorf("token issued before the restart: %d %s", rec.Code, rec.Body)
	}
}

func TestOpen_BadSigningKeyFileOrRedis_SaysHowToFix(t *testing.T) {
	cfg := Defaults()
	cfg.DataDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(cfg.DataDir, SigningKeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(context.Background(), cfg.DataDir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log := slog.New(slog.DiscardHandler)
	if _, err := Open(context.Background(), cfg, store, log); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("junk key file: %v", err)
	}
	os.Remove(filepath.Join(cfg.DataDir, SigningKeyFile))
	cfg.RedisURL = "redis://127.0.0.1:1/0"
	if _, err := Open(context.Background(), cfg, store, log); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("unreachable Redis: %v", err)
	}
}

func TestConfig_SMARTSettingsFromEnvAndIssuer(t *testing.T) {
	c := Defaults()
	env := map[string]string{"HPS_SECURE": "true", "HPS_REDIS_URL": "redis://127.0.0.1:6379/0", "HPS_DEMO_BACKEND_JWKS": "keys.json",
		"HPS_SMART_SKIP_LOGIN": "1", "HPS_SMART_SKIP_CONSENT": "true"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if !c.Secure || c.RedisURL != env["HPS_REDIS_URL"] || c.DemoBackendJWKS != "keys.json" || !c.SkipLogin || !c.SkipConsent || c.Validate() != nil {
		t.Fatalf("%+v", c)
	}
	if err := c.LoadEnv(func(k string) string { return map[string]string{"HPS_SECURE": "yes please"}[k] }); err == nil {
		t.Error("HPS_SECURE=yes please accepted")
	}
	c.RedisURL = "http://127.0.0.1:6379"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--redis-url") {
		t.Errorf("bad redis URL: %v", err)
	}
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080", ":8080": "http://127.0.0.1:8080",
		"0.0.0.0:9": "http://127.0.0.1:9", "[::]:9": "http://127.0.0.1:9", "sandbox.local:80": "http://sandbox.local:80",
	} {
		c := Config{Addr: addr}
		if got := c.Issuer(); got != want {
			t.Errorf("Issuer for --addr %s = %s, want %s", addr, got, want)
		}
	}
	c = Config{Addr: ":1", PublicURL: "https://sandbox.example.org/"}
	if c.Issuer() != "https://sandbox.example.org" {
		t.Errorf("Issuer with --public-url = %s", c.Issuer())
	}
}
