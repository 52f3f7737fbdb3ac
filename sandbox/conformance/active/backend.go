package active

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/sandbox/conformance"
)

// Specification sections the backend tests cite.
const (
	citeBackendToken = "https://hl7.org/fhir/smart-app-launch/backend-services.html#obtaining-an-access-token"
	citeAssertion    = "https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#authenticating-to-the-token-endpoint"
	citeTokenError   = "https://www.rfc-editor.org/rfc/rfc6749#section-5.2"
)

// assertionType is the client_assertion_type of private_key_jwt.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func backendTests() []Test {
	return []Test{
		{ID: "active.backend-token-flow", Title: "Issues an access token for client_credentials with a private_key_jwt assertion",
			Cite: citeBackendToken, Severity: conformance.SeverityError, Needs: []Need{NeedSMART}, Run: testBackendToken},
		{ID: "active.backend-rejects-replayed-jti", Title: "Refuses a client assertion whose jti was used before",
			Cite: citeAssertion, Severity: conformance.SeverityError, Needs: []Need{NeedBackend}, Run: testReplayedJTI},
		{ID: "active.backend-rejects-expired-assertion", Title: "Refuses an expired client assertion",
			Cite: citeAssertion, Severity: conformance.SeverityError, Needs: []Need{NeedBackend}, Run: testExpiredAssertion},
		{ID: "active.backend-rejects-bad-signature", Title: "Refuses a client assertion signed by another key",
			Cite: citeAssertion, Severity: conformance.SeverityError, Needs: []Need{NeedBackend}, Run: testBadSignature},
		{ID: "active.backend-rejects-wrong-alg", Title: "Refuses a client assertion with alg none or a symmetric alg",
			Cite: citeAssertion, Severity: conformance.SeverityError, Needs: []Need{NeedBackend}, Run: testWrongAlg},
		{ID: "active.backend-rejects-wrong-aud", Title: "Refuses a client assertion whose aud is not the token endpoint",
			Cite: citeAssertion, Severity: conformance.SeverityError, Needs: []Need{NeedBackend}, Run: testWrongAud},
	}
}

// claims are a fresh client assertion's claims: iss = sub = client id,
// aud the token endpoint, exp four minutes ahead, a random jti.
func (s *Session) claims() map[string]any {
	now := s.now()
	return map[string]any{"iss": s.cfg.ClientID, "sub": s.cfg.ClientID, "aud": s.smart.TokenEndpoint,
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": rand.Text()}
}

func (s *Session) kid() string {
	if s.cfg.KeyID != "" {
		return s.cfg.KeyID
	}
	k, _ := Thumbprint(s.cfg.Key)
	return k
}

// sign signs claims with key as a JWT with the alg SMART uses for it.
func (s *Session) sign(key crypto.Signer, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: algOf(key), Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid()))
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// rawJWT assembles a JWT with the header and signature given, for the
// assertions no JOSE library makes (alg none, HS256 keyed with the
// public key).
func rawJWT(header, claims map[string]any, sign func(input string) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

// tokenRequest posts a client_credentials request with assertion.
func (s *Session) tokenRequest(ctx context.Context, assertion string) (*reply, error) {
	return s.postForm(ctx, s.smart.TokenEndpoint, url.Values{"grant_type": {"client_credentials"}, "scope": {s.cfg.Scope},
		"client_assertion_type": {assertionType}, "client_assertion": {assertion}})
}

func testBackendToken(ctx context.Context, s *Session) conformance.Result {
	switch {
	case s.cfg.ClientID == "" || s.cfg.Key == nil:
		return skip("no backend client: --client-id and --key")
	case s.smart.TokenEndpoint == "":
		s.noToken = "the smart-configuration names no token_endpoint"
		return fail("the smart-configuration names no token_endpoint")
	}
	assertion, err := s.sign(s.cfg.Key, s.claims())
	if err != nil {
		return fail("signing the assertion: %v", err)
	}
	r, err := s.tokenRequest(ctx, assertion)
	if err != nil {
		s.noToken = "the token endpoint did not answer"
		return fail("no answer: %v", err)
	}
	m := r.object()
	if r.Status != 200 {
		s.noToken = fmt.Sprintf("the token endpoint answered %d", r.Status)
		return fail("answered %d (%s: %s), not 200", r.Status, str(m, "error"), str(m, "error_description"))
	}
	tok := str(m, "access_token")
	if tok == "" {
		s.noToken = "the token answer held no access_token"
		return fail("the answer holds no access_token")
	}
	s.token, s.assertion = tok, assertion
	var problems []string
	if !strings.EqualFold(str(m, "token_type"), "bearer") {
		problems = append(problems, fmt.Sprintf("token_type is %q, not bearer", str(m, "token_type")))
	}
	if _, ok := m["expires_in"].(float64); !ok {
		problems = append(problems, "expires_in is missing")
	}
	if str(m, "scope") == "" {
		problems = append(problems, "scope is missing")
	}
	if !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
		problems = append(problems, "Cache-Control is not no-store (RFC 6749 §5.1)")
	}
	if len(problems) > 0 {
		return fail("a token was issued, but %s", strings.Join(problems, "; "))
	}
	return pass("an access token (%s) for scope %q", str(m, "token_type"), str(m, "scope"))
}

// oauthErrors are RFC 6749 §5.2's error codes.
var oauthErrors = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope"}

// judgeRefusal passes a token answer that refuses with RFC 6749 error
// JSON (400 or 401), what says what was refused.
func judgeRefusal(r *reply, err error, what string) conformance.Result {
	if err != nil {
		return fail("%s: no answer: %v", what, err)
	}
	m := r.object()
	switch {
	case r.Status == 200:
		return fail("%s was accepted: a token was issued", what)
	case r.Status != 400 && r.Status != 401:
		return fail("%s: answered %d, not 400 or 401", what, r.Status)
	case m == nil || r.mediaType() != "application/json":
		return fail("%s: refused with %d, but not with RFC 6749 error JSON (%q)", what, r.Status, r.Header.Get("Content-Type"))
	case !slices.Contains(oauthErrors, str(m, "error")):
		return fail("%s: refused with %d, but error %q is not an RFC 6749 code", what, r.Status, str(m, "error"))
	}
	return pass("%s: refused with %d %s", what, r.Status, str(m, "error"))
}

func testReplayedJTI(ctx context.Context, s *Session) conformance.Result {
	r, err := s.tokenRequest(ctx, s.assertion)
	return judgeRefusal(r, err, "the assertion of active.backend-token-flow sent again")
}

func testExpiredAssertion(ctx context.Context, s *Session) conformance.Result {
	c := s.claims()
	now := s.now()
	c["iat"], c["exp"] = now.Add(-15*time.Minute).Unix(), now.Add(-10*time.Minute).Unix()
	a, err := s.sign(s.cfg.Key, c)
	if err != nil {
		return fail("signing: %v", err)
	}
	r, err := s.tokenRequest(ctx, a)
	return judgeRefusal(r, err, "an assertion that expired ten minutes ago")
}

func testBadSignature(ctx context.Context, s *Session) conformance.Result {
	var other crypto.Signer
	var err error
	if _, ok := s.cfg.Key.(*ecdsa.PrivateKey); ok {
		other, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	} else {
		other, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return fail("making a key: %v", err)
	}
	a, err := s.sign(other, s.claims())
	if err != nil {
		return fail("signing: %v", err)
	}
	r, err := s.tokenRequest(ctx, a)
	return judgeRefusal(r, err, "an assertion with the client's kid signed by another key")
}

func testWrongAlg(ctx context.Context, s *Session) conformance.Result {
	none := rawJWT(map[string]any{"alg": "none", "typ": "JWT", "kid": s.kid()}, s.claims(),
		func(string) []byte { return nil })
	r, err := s.tokenRequest(ctx, none)
	if res := judgeRefusal(r, err, "an assertion with alg none"); res.Status != conformance.Pass {
		return res
	}
	// HS256 keyed with the public key: what a verifier that trusts the
	// header's alg would check against the key it holds.
	pub, err := json.Marshal(&jose.JSONWebKey{Key: s.cfg.Key.Public()})
	if err != nil {
		return fail("encoding the public key: %v", err)
	}
	hs := rawJWT(map[string]any{"alg": "HS256", "typ": "JWT", "kid": s.kid()}, s.claims(), func(input string) []byte {
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(input))
		return m.Sum(nil)
	})
	r, err = s.tokenRequest(ctx, hs)
	if res := judgeRefusal(r, err, "an assertion with alg HS256 keyed with the public key"); res.Status != conformance.Pass {
		return res
	}
	return pass("alg none and HS256 refused with RFC 6749 error JSON")
}

func testWrongAud(ctx context.Context, s *Session) conformance.Result {
	c := s.claims()
	c["aud"] = s.base
	a, err := s.sign(s.cfg.Key, c)
	if err != nil {
		return fail("signing: %v", err)
	}
	r, err := s.tokenRequest(ctx, a)
	return judgeRefusal(r, err, "an assertion whose aud is the FHIR base, not the token endpoint")
}
