package smart

import (
	"context"
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// tokenResponse is the token endpoint's success answer (RFC 6749 §5.1 with
// the SMART launch context parameters).
type tokenResponse struct {
	AccessToken       string `json:"access_token"`
	TokenType         string `json:"token_type"`
	ExpiresIn         int64  `json:"expires_in"`
	Scope             string `json:"scope"`
	RefreshToken      string `json:"refresh_token,omitempty"`
	IDToken           string `json:"id_token,omitempty"`
	Patient           string `json:"patient,omitempty"`
	Encounter         string `json:"encounter,omitempty"`
	NeedPatientBanner *bool  `json:"need_patient_banner,omitempty"`
	SmartStyleURL     string `json:"smart_style_url,omitempty"`
	Intent            string `json:"intent,omitempty"`
}

// grantHandler handles one grant_type for an authenticated client.
type grantHandler func(ctx context.Context, c *authenticatedClient, form url.Values) (*tokenResponse, error)

// token is the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	ev := s.newEvent(EndpointToken)
	form, err := s.parsePostForm(w, r)
	if err != nil {
		s.observe(r.Context(), ev, err)
		writeJSONError(w, err)
		return
	}
	if ev != nil {
		ev.fromTokenForm(r, form, s.now())
	}
	resp, err := s.grant(r, form, ev)
	if ev != nil {
		s.lookupSandbox(r.Context(), ev)
		if resp != nil {
			ev.Granted = resp.Scope
		}
	}
	s.observe(r.Context(), ev, err)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	if resp.TokenType == "DPoP" {
		// The resource server demands the same nonce (RFC 9449 §8.2): given
		// now, it spares the client a challenge on its first request.
		if n, err := s.DPoPNonce(r.Context()); err == nil {
			w.Header().Set("DPoP-Nonce", n)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// grant authenticates the client of a token request and runs the handler
// of its grant_type.
func (s *Server) grant(r *http.Request, form url.Values, ev *Event) (*tokenResponse, error) {
	handlers := map[string]grantHandler{
		"authorization_code": s.grantAuthorizationCode,
		"refresh_token":      s.grantRefreshToken,
		"client_credentials": s.grantClientCredentials,
	}
	grantType := form.Get("grant_type")
	handle, ok := handlers[grantType]
	if !ok {
		if grantType == "" {
			return nil, ErrInvalidRequest.describe("grant_type is required")
		}
		return nil, ErrUnsupportedGrantType.describe("grant_type %q is not supported", truncate(grantType, 60))
	}
	// The DPoP proof is checked first, so that a client sent back for the
	// server's nonce has not spent its client assertion.
	jkt, err := s.tokenDPoP(r, form)
	if err != nil {
		return nil, err
	}
	client, err := s.authenticateClient(r.Context(), r, form)
	if err != nil {
		return nil, err
	}
	if client.requiresDPoP() && jkt == "" {
		return nil, ErrInvalidDPoPProof.describe("this client's token requests must carry a DPoP proof (dpop_bound_access_tokens)")
	}
	client.jkt = jkt
	if ev != nil {
		ev.fromClient(client.Client)
	}
	resp, err := handle(r.Context(), client, form)
	if err != nil {
		if e := asError(err); e.Code == ErrServerError.Code {
			s.log.ErrorContext(r.Context(), "token request failed", "grant_type", grantType, "client_id", client.ID, "err", err)
		}
		return nil, err
	}
	return resp, nil
}

// maxFormBytes bounds the body of token, introspection and revocation
// requests.
const maxFormBytes = 64 << 10

// parsePostForm reads an application/x-www-form-urlencoded body; OAuth
// parameters in the query string are not accepted (RFC 6749 §3.2).
func (s *Server) parsePostForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return nil, ErrInvalidRequest.describe("the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, ErrInvalidRequest.describe("malformed form body")
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, ErrInvalidRequest.describe("%s given more than once", truncate(k, 40))
		}
	}
	return r.PostForm, nil
}

// grantAuthorizationCode redeems a code once. A second redemption revokes
// every token issued from the code (RFC 6749 §4.1.2).
func (s *Server) grantAuthorizationCode(ctx context.Context, c *authenticatedClient, form url.Values) (*tokenResponse, error) {
	code := form.Get("code")
	if code == "" {
		return nil, ErrInvalidRequest.describe("code is required")
	}
	key := hashKey(code)
	var g grantRecord
	if err := loadJSON(ctx, s.state, "code:"+key, &g); err != nil {
		if !isNotFound(err) {
			return nil, err
		}
		if fam, err := s.state.Get(ctx, "codeused:"+key); err == nil {
			s.revokeFamily(ctx, string(fam))
			return nil, ErrInvalidGrant.describe("authorization code was already used; tokens issued from it are revoked")
		}
		return nil, ErrInvalidGrant.describe("authorization code is unknown or expired")
	}
	switch {
	case g.ClientID != c.ID:
		return nil, ErrInvalidGrant.describe("authorization code was issued to another client")
	case form.Get("redirect_uri") != g.RedirectURI:
		return nil, ErrInvalidGrant.describe("redirect_uri does not match the authorization request")
	case form.Get("code_verifier") == "":
		return nil, ErrInvalidGrant.describe("code_verifier is required (PKCE)")
	case !verifyPKCE(form.Get("code_verifier"), g.Challenge):
		return nil, ErrInvalidGrant.describe("code_verifier does not match the code_challenge")
	case g.JKT != "" && c.jkt == "":
		// RFC 9449 §10: the code is bound to the key dpop_jkt named.
		return nil, ErrInvalidGrant.describe("the authorization request bound the code to a DPoP key (dpop_jkt): send a DPoP proof of that key")
	case g.JKT != "" && subtle.ConstantTimeCompare([]byte(g.JKT), []byte(c.jkt)) != 1:
		return nil, ErrInvalidGrant.describe("the DPoP proof's key is not the one the authorization request named (dpop_jkt)")
	}
	first, err := s.state.PutIfAbsent(ctx, "codeused:"+key, []byte(g.Family), s.familyTTL())
	if err != nil {
		return nil, err
	}
	if !first {
		s.revokeFamily(ctx, g.Family)
		return nil, ErrInvalidGrant.describe("authorization code was already used; tokens issued from it are revoked")
	}
	_ = s.state.Delete(ctx, "code:"+key)
	g.RedirectURI, g.Challenge, g.JKT = "", "", c.jkt
	return s.issueTokens(ctx, g, g.Scope, true)
}

// grantRefreshToken rotates a refresh token: the presented one becomes
// invalid, a new one is returned. Presenting a rotated-out token again
// revokes the whole grant (it was probably stolen).
func (s *Server) grantRefreshToken(ctx context.Context, c *authenticatedClient, form url.Values) (*tokenResponse, error) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return nil, ErrInvalidRequest.describe("refresh_token is required")
	}
	key := hashKey(rt)
	var g grantRecord
	if err := loadJSON(ctx, s.state, "rt:"+key, &g); err != nil {
		if !isNotFound(err) {
			return nil, err
		}
		if fam, err := s.state.Get(ctx, "rtused:"+key); err == nil {
			s.revokeFamily(ctx, string(fam))
			return nil, ErrInvalidGrant.describe("refresh token was already used; the grant is revoked")
		}
		return nil, ErrInvalidGrant.describe("refresh token is unknown, expired or revoked")
	}
	if g.ClientID != c.ID {
		return nil, ErrInvalidGrant.describe("refresh token was issued to another client")
	}
	if s.familyRevoked(ctx, g.Family) {
		return nil, ErrInvalidGrant.describe("refresh token is unknown, expired or revoked")
	}
	scope := g.Scope
	if raw := form.Get("scope"); raw != "" {
		requested, err := ParseScopes(raw)
		if err != nil {
			return nil, err
		}
		granted, _ := ParseScopes(g.Scope)
		if sc, bad := granted.Uncovered(requested); bad {
			return nil, ErrInvalidScope.describe("scope %q was not granted", sc.Name)
		}
		scope = requested.String()
	}
	first, err := s.state.PutIfAbsent(ctx, "rtused:"+key, []byte(g.Family), s.familyTTL())
	if err != nil {
		return nil, err
	}
	if !first {
		s.revokeFamily(ctx, g.Family)
		return nil, ErrInvalidGrant.describe("refresh token was already used; the grant is revoked")
	}
	_ = s.state.Delete(ctx, "rt:"+key)
	g.JKT = c.jkt
	return s.issueTokens(ctx, g, scope, true)
}

// grantClientCredentials issues a system-level token to a backend service
// that authenticated with a private_key_jwt assertion.
func (s *Server) grantClientCredentials(ctx context.Context, c *authenticatedClient, form url.Values) (*tokenResponse, error) {
	if c.method != authPrivateKeyJWT {
		return nil, ErrUnauthorizedClient.describe("client_credentials requires private_key_jwt client authentication (SMART Backend Services)")
	}
	smartPart, external, err := checkExternalScopes(c.Client, form.Get("scope"))
	if err != nil {
		return nil, err
	}
	var scopes Scopes
	if smartPart != "" || len(external) == 0 {
		if scopes, err = s.checkRequestedScopes(c.Client, smartPart); err != nil {
			return nil, err
		}
	}
	for _, sc := range scopes {
		if sc.Level != LevelSystem {
			return nil, ErrInvalidScope.describe("backend services may request system scopes only, not %q", sc.Name)
		}
	}
	family, err := randomToken()
	if err != nil {
		return nil, err
	}
	scope := strings.TrimSpace(scopes.String() + " " + strings.Join(external, " "))
	g := grantRecord{ClientID: c.ID, Sandbox: c.Sandbox, Scope: scope, Family: family, JKT: c.jkt}
	if c.HelseID {
		g.Claims = c.Claims
	}
	return s.issueTokens(ctx, g, g.Scope, false)
}
