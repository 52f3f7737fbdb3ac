package smart

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// The HelseID profile: Norway's national health-sector authorization
// server issues machine-to-machine tokens to clients that authenticate
// with short private_key_jwt assertions and bind their tokens with DPoP;
// the national APIs (the welfare-technology hub, the journaling service)
// judge "nhn:…" scopes and client claims such as "vkp-id". A Client with
// HelseID set gets tokens as HelseID would issue them; SMART clients are
// unaffected.

// helseIDAssertionLifetime bounds exp − iat of a HelseID client's
// assertion.
const helseIDAssertionLifetime = 60 * time.Second

// externalScopePrefixes start the scopes that are not SMART's: the server
// grants them as registered and leaves their meaning to the APIs.
var externalScopePrefixes = []string{"nhn:"}

// IsExternalScope reports whether scope is a HelseID-style scope
// ("nhn:jft/api") rather than a SMART one.
func IsExternalScope(scope string) bool {
	for _, p := range externalScopePrefixes {
		if strings.HasPrefix(scope, p) {
			return true
		}
	}
	return false
}

// externalScopePattern is what an external scope may be made of.
var externalScopePattern = regexp.MustCompile(`^[a-z]+:[A-Za-z0-9_./*:-]{1,200}$`)

// ValidExternalScope reports whether scope is a well-formed external scope.
func ValidExternalScope(scope string) bool {
	return IsExternalScope(scope) && externalScopePattern.MatchString(scope)
}

// SplitScopes splits a space-separated scope string into its SMART scopes
// (space-separated, for ParseScopes) and its external scopes, in order.
func SplitScopes(raw string) (smart string, external []string) {
	var keep []string
	for _, s := range strings.Fields(raw) {
		if IsExternalScope(s) {
			external = append(external, s)
		} else {
			keep = append(keep, s)
		}
	}
	return strings.Join(keep, " "), external
}

// checkExternalScopes splits a requested scope string and checks its
// external scopes: only a HelseID client may ask for them, each exactly as
// registered.
func checkExternalScopes(c *Client, raw string) (smartPart string, external []string, err error) {
	smartPart, external = SplitScopes(raw)
	if len(external) == 0 {
		return smartPart, nil, nil
	}
	_, registered := SplitScopes(c.Scopes)
	for _, sc := range external {
		switch {
		case !c.HelseID:
			return "", nil, ErrInvalidScope.describe("scope %q is a HelseID scope; this client is not registered for the HelseID profile", truncate(sc, 80))
		case !slices.Contains(registered, sc):
			return "", nil, ErrInvalidScope.describe("scope %q is not registered for this client", truncate(sc, 80))
		}
	}
	return smartPart, slices.Compact(external), nil
}

// reservedClaims are the claims of access tokens a client's Claims may not
// replace.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"client_id": true, "scope": true, "patient": true, "encounter": true, "fhirUser": true,
	"sandbox": true, "fam": true, "cnf": true,
}

var clientClaimPattern = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// ValidClientClaim reports whether name may be one of a client's Claims.
func ValidClientClaim(name string) bool {
	return clientClaimPattern.MatchString(name) && !reservedClaims[name]
}

// withExtraClaims returns the claims of c with extra beside them.
func withExtraClaims(c accessClaims, extra map[string]string) (map[string]any, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if ValidClientClaim(k) {
			m[k] = v
		}
	}
	return m, nil
}

// extraClaims picks a verified token's client claims: its string claims
// that are not reserved.
type extraClaims map[string]string

// UnmarshalJSON implements json.Unmarshaler.
func (e *extraClaims) UnmarshalJSON(b []byte) error {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, raw := range all {
		var v string
		if !ValidClientClaim(k) || json.Unmarshal(raw, &v) != nil {
			continue
		}
		if *e == nil {
			*e = extraClaims{}
		}
		(*e)[k] = v
	}
	return nil
}

// peekClient returns the client a token request names (client_id, Basic
// user or the assertion's unverified iss), or nil; it authenticates
// nothing and is used only to decide whether DPoP is demanded.
func (s *Server) peekClient(ctx context.Context, r *http.Request, form url.Values) *Client {
	id := form.Get("client_id")
	if user, _, ok := r.BasicAuth(); ok && id == "" {
		id, _ = url.QueryUnescape(user)
	}
	if a := form.Get("client_assertion"); a != "" && id == "" {
		if tok, err := jwt.ParseSigned(a, assertionAlgs); err == nil {
			var c jwt.Claims
			if tok.UnsafeClaimsWithoutVerification(&c) == nil {
				id = c.Issuer
			}
		}
	}
	if id == "" {
		return nil
	}
	c, err := s.clients.Client(ctx, id)
	if err != nil {
		return nil
	}
	return c
}

// tokenDPoP checks a token request's DPoP proof, if any, and returns the
// thumbprint of its key. A client that requires DPoP must send the
// server's nonce; its missing proof is refused after it authenticates.
func (s *Server) tokenDPoP(r *http.Request, form url.Values) (string, error) {
	proofs := r.Header.Values("DPoP")
	if len(proofs) == 0 {
		return "", nil
	}
	if len(proofs) > 1 {
		return "", ErrInvalidDPoPProof.describe("send one DPoP header")
	}
	c := s.peekClient(r.Context(), r, form)
	p, err := s.checkDPoP(r.Context(), proofs[0], dpopCheck{method: http.MethodPost, htu: s.url(pathToken),
		nonce: c != nil && c.requiresDPoP()})
	if err != nil {
		return "", err
	}
	return p.JKT, nil
}

// AuthenticateAt is Authenticate for a request whose absolute URL, without
// query and fragment, is htu: the URL a DPoP proof must name, which a
// gateway behind a proxy knows from its public URL. It accepts
// `Authorization: Bearer` for unbound tokens and `Authorization: DPoP`
// with a DPoP proof (RFC 9449 §7) for bound ones; a bound token sent as
// Bearer is invalid_token. The DPoP refusals are 401 with a DPoP
// challenge, and use_dpop_nonce carries the server's nonce.
func (s *Server) AuthenticateAt(r *http.Request, htu string) (*Grant, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, ErrMissingToken
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	isDPoP := strings.EqualFold(scheme, "DPoP")
	if !ok || (!isDPoP && !strings.EqualFold(scheme, "Bearer")) || token == "" {
		return nil, ErrInvalidRequest.describe("Authorization header must be: Bearer <access token>, or DPoP <access token> with a DPoP proof")
	}
	g, err := s.AuthenticateToken(r.Context(), token)
	if err != nil {
		if isDPoP {
			return nil, asDPoPChallenge(asError(err))
		}
		return nil, err
	}
	proofs := r.Header.Values("DPoP")
	switch {
	case !isDPoP && g.DPoPKey != "":
		return nil, ErrInvalidToken.describe("the token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof")
	case !isDPoP:
		return g, nil
	case g.DPoPKey == "":
		return nil, asDPoPChallenge(ErrInvalidToken.describe("the token is not DPoP-bound: send it as Authorization: Bearer"))
	case len(proofs) != 1:
		return nil, asDPoPChallenge(ErrInvalidDPoPProof.describe("a DPoP request must carry one DPoP proof header"))
	}
	if _, err := s.checkDPoP(r.Context(), proofs[0], dpopCheck{method: r.Method, htu: htu, token: token,
		jkt: g.DPoPKey, nonce: true}); err != nil {
		return nil, asDPoPChallenge(asError(err))
	}
	return g, nil
}

// asDPoPChallenge makes a refusal of a DPoP request a resource server's:
// 401 (500 stays) with a DPoP challenge.
func asDPoPChallenge(e *Error) *Error {
	c := *e
	if c.Status < 500 {
		c.Status = http.StatusUnauthorized
		c.dpopChallenge = true
	}
	return &c
}

// requestURL is the absolute URL of r without query and fragment, as the
// request names it (Host, TLS or X-Forwarded-Proto).
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return fmt.Sprintf("%s://%s%s", scheme, r.Host, r.URL.EscapedPath())
}
