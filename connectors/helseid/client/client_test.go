package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// authServer is a token endpoint and a resource that ask for a nonce first
// (RFC 9449 §8 and §9) and record what the client sent.
type authServer struct {
	*httptest.Server
	mu        sync.Mutex
	tokenType string
	tokens    int
	proofs    []map[string]any
	asserts   []map[string]any
	headers   []http.Header
}

func newAuthServer(t *testing.T) *authServer {
	s := &authServer{tokenType: "DPoP"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fhir/.well-known/smart-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"token_endpoint": s.URL + "/auth/token"})
	})
	mux.HandleFunc("POST /auth/token", func(w http.ResponseWriter, r *http.Request) {
		proof := s.claims(t, r.Header.Get("DPoP"), "dpop+jwt")
		s.mu.Lock()
		defer s.mu.Unlock()
		s.asserts = append(s.asserts, s.claims(t, r.FormValue("client_assertion"), "client-authentication+jwt"))
		w.Header().Set("DPoP-Nonce", "n-token")
		w.Header().Set("Content-Type", "application/json")
		if proof["nonce"] != "n-token" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"use_dpop_nonce","error_description":"nonce"}`)
			return
		}
		if r.FormValue("scope") == "refused" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid_scope","error_description":"no"}`)
			return
		}
		s.tokens++
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok", "token_type": s.tokenType, "expires_in": 300, "scope": r.FormValue("scope")})
	})
	mux.HandleFunc("/fhir/Patient", func(w http.ResponseWriter, r *http.Request) {
		proof := s.claims(t, r.Header.Get("DPoP"), "dpop+jwt")
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		w.Header().Set("DPoP-Nonce", "n-fhir")
		if proof["nonce"] != "n-fhir" {
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// claims checks the typ of a JWT and returns its claims, unverified.
func (s *authServer) claims(t *testing.T, raw, typ string) map[string]any {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS384})
	if err != nil {
		t.Errorf("%s: %v", typ, err)
		return nil
	}
	if got := tok.Headers[0].ExtraHeaders["typ"]; got != typ {
		t.Errorf("typ %v, want %s", got, typ)
	}
	var m map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Error(err)
	}
	if typ == "dpop+jwt" {
		if j := tok.Headers[0].JSONWebKey; j == nil || !j.IsPublic() {
			t.Error("the proof carries no public jwk")
		} else if err := tok.Claims(j.Key, &m); err != nil {
			t.Errorf("the proof does not verify with its jwk: %v", err)
		}
		s.mu.Lock()
		s.proofs = append(s.proofs, m)
		s.mu.Unlock()
	}
	return m
}

func newClient(t *testing.T, s *authServer) *Client {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(k, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenURL, err = TokenEndpoint(t.Context(), http.DefaultClient, s.URL); err != nil {
		t.Fatal(err)
	}
	c.ClientID, c.Scope = "c1", "nhn:jft/api"
	return c
}

func TestAssertionAlg(t *testing.T) {
	ec := func(c elliptic.Curve) *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(c, rand.Reader); return k }
	rs := func(bits int) *rsa.PrivateKey { k, _ := rsa.GenerateKey(rand.Reader, bits); return k }
	for name, tc := range map[string]struct {
		key  any
		want jose.SignatureAlgorithm
	}{
		"P-256": {ec(elliptic.P256()), jose.ES256}, "P-384": {ec(elliptic.P384()), jose.ES384},
		"P-521": {ec(elliptic.P521()), ""}, "RSA 2048": {rs(2048), jose.RS384}, "RSA 1024": {rs(1024), ""},
	} {
		var got jose.SignatureAlgorithm
		var err error
		switch k := tc.key.(type) {
		case *ecdsa.PrivateKey:
			got, err = AssertionAlg(k)
		case *rsa.PrivateKey:
			got, err = AssertionAlg(k)
		}
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("%s: %q %v, want %q", name, got, err, tc.want)
		}
	}
}

func TestTokenFollowsNonce(t *testing.T) {
	s := newAuthServer(t)
	c := newClient(t, s)
	tok, err := c.Token(t.Context(), "nhn:jft/api")
	if err != nil || tok.AccessToken != "tok" || tok.Scope != "nhn:jft/api" {
		t.Fatalf("Token: %+v %v", tok, err)
	}
	if len(s.asserts) != 2 || c.Nonce() != "n-token" {
		t.Fatalf("%d assertions, nonce %q: want 2 and n-token", len(s.asserts), c.Nonce())
	}
	a := s.asserts[1]
	if a["iss"] != "c1" || a["sub"] != "c1" || a["aud"] != s.URL+"/auth/token" || a["jti"] == s.asserts[0]["jti"] ||
		a["exp"].(float64)-a["iat"].(float64) != DefaultAssertionLife.Seconds() {
		t.Errorf("assertion %v", a)
	}
	p := s.proofs[1]
	if p["htm"] != "POST" || p["htu"] != s.URL+"/auth/token" || p["ath"] != nil || p["nonce"] != "n-token" {
		t.Errorf("proof %v", p)
	}

	var oe *OAuthError
	if _, err := c.Token(t.Context(), "refused"); !errors.As(err, &oe) || oe.Code != "invalid_scope" || oe.Status != 400 {
		t.Errorf("refused scope: %v", err)
	}
}

func TestAuthorizeKeepsTokenAndDoFollowsNonce(t *testing.T) {
	s := newAuthServer(t)
	c := newClient(t, s)
	for range 2 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/fhir/Patient?name=x#f", nil)
		if err := c.Authorize(req); err != nil {
			t.Fatal(err)
		}
		if req.Header.Get("Authorization") != "DPoP tok" {
			t.Errorf("Authorization %q", req.Header.Get("Authorization"))
		}
	}
	if s.tokens != 1 {
		t.Errorf("%d tokens for two requests, want 1 (kept)", s.tokens)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/fhir/Patient?x=1", strings.NewReader("body"))
	resp, err := c.Do(req, "tok")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "body" {
		t.Fatalf("Do: %d %q, want 200 and the body sent again", resp.StatusCode, b)
	}
	p := s.proofs[len(s.proofs)-1]
	sum := sha256.Sum256([]byte("tok"))
	if p["htm"] != "POST" || p["htu"] != s.URL+"/fhir/Patient" || p["nonce"] != "n-fhir" ||
		p["ath"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("proof %v", p)
	}
}

func TestAccessTokenRefusesBearer(t *testing.T) {
	s := newAuthServer(t)
	s.tokenType = "Bearer"
	c := newClient(t, s)
	if _, err := c.AccessToken(t.Context()); !errors.Is(err, ErrNotDPoP) {
		t.Errorf("a Bearer token: %v, want ErrNotDPoP", err)
	}
}

func TestKeepNonce(t *testing.T) {
	c := &Client{}
	// In order: the nonce kept is the last one given.
	for _, tc := range []struct {
		name      string
		status    int
		h         http.Header
		body      string
		challenge bool
	}{
		{"header", 401, http.Header{"Www-Authenticate": {`DPoP error="use_dpop_nonce"`}, "Dpop-Nonce": {"a"}}, "", true},
		{"400 body", 400, http.Header{"Dpop-Nonce": {"b"}}, `{"error":"use_dpop_nonce"}`, true},
		{"other error", 400, http.Header{}, `{"error":"invalid_dpop_proof"}`, false},
		{"200 body", 200, http.Header{}, `{"error":"use_dpop_nonce"}`, false},
		{"not JSON", 400, http.Header{}, `<html>`, false},
	} {
		if got := c.KeepNonce(&http.Response{StatusCode: tc.status, Header: tc.h}, []byte(tc.body)); got != tc.challenge {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.challenge)
		}
	}
	if c.Nonce() != "b" {
		t.Errorf("nonce %q, want the last given", c.Nonce())
	}
}

func FuzzKeepNonce(f *testing.F) {
	f.Add(400, `{"error":"use_dpop_nonce"}`, `DPoP error="use_dpop_nonce"`)
	f.Add(401, `[`, ``)
	f.Fuzz(func(t *testing.T, status int, body, challenge string) {
		c := &Client{}
		got := c.KeepNonce(&http.Response{StatusCode: status, Header: http.Header{"Www-Authenticate": {challenge}}}, []byte(body))
		if strings.Contains(challenge, `error="use_dpop_nonce"`) && !got {
			t.Error("a challenge in WWW-Authenticate was missed")
		}
	})
}
