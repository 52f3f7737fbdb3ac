package smart

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestConfig_Defaults_AndErrorsSayHowToFix(t *testing.T) {
	c, err := Config{Issuer: "http://127.0.0.1:8080/"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "http://127.0.0.1:8080" || c.FHIRBase != "http://127.0.0.1:8080/fhir" ||
		c.AccessTokenTTL != time.Hour || c.CodeTTL != 5*time.Minute || c.RefreshTokenTTL != DefaultRefreshTokenTTL {
		t.Errorf("defaults: %+v", c)
	}
	for _, bad := range []Config{
		{},
		{Issuer: "127.0.0.1:8080"},
		{Issuer: "http://127.0.0.1:8080?x=1"},
		{Issuer: "http://127.0.0.1:8080", FHIRBase: "fhir"},
		{Issuer: "http://127.0.0.1:8080", CodeTTL: -time.Second},
	} {
		if _, err := bad.withDefaults(); err == nil || !strings.Contains(err.Error(), "Config.") {
			t.Errorf("%+v: error %v does not name the field", bad, err)
		}
	}
	if _, err := New(Config{Issuer: "http://127.0.0.1:1"}, Deps{}); err == nil || !strings.Contains(err.Error(), "Deps.Keys") {
		t.Errorf("New without keys: %v", err)
	}
}

func TestMintLaunch_RefusesUserThatIsNotAReference(t *testing.T) {
	env := newTestEnv(t, nil)
	if _, err := env.srv.MintLaunch(context.Background(), LaunchContext{User: "dr who"}); err == nil {
		t.Fatal("accepted a user that is not a FHIR reference")
	}
}

func TestJWKSURL_UnknownKid_RefetchesRotatedKeysButNotOnEveryRequest(t *testing.T) {
	env := newTestEnv(t, nil)
	newKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	published := jose.JSONWebKey{Key: testECKey().Public(), KeyID: "es-1", Algorithm: "ES384"}
	fetches := 0
	jwksServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{published}})
	}))
	t.Cleanup(jwksServer.Close)
	env.srv.clients.(*MemoryClients).Put(&Client{ID: backendES, Type: ConfidentialAsymmetric, Scopes: "system/*.rs", JWKSURL: jwksServer.URL})

	ok := func(key any, kid string) bool {
		resp, _ := env.clientCredentials(t, env.assertion(t, backendES, key, jose.ES384, kid, nil), "system/*.rs")
		return resp.StatusCode == http.StatusOK
	}
	if !ok(testECKey(), "es-1") {
		t.Fatal("first key refused")
	}
	mu.Lock()
	published = jose.JSONWebKey{Key: newKey.Public(), KeyID: "es-2", Algorithm: "ES384"}
	mu.Unlock()
	if ok(newKey, "es-2") {
		t.Fatal("rotated key accepted within the refetch interval")
	}
	env.clock.Advance(jwksRefetchAfter + time.Second)
	if !ok(newKey, "es-2") {
		t.Fatal("rotated key refused after the refetch interval")
	}
	mu.Lock()
	defer mu.Unlock()
	if fetches != 2 {
		t.Errorf("jwks_url fetched %d times, want 2", fetches)
	}
}
