package smart

import (
	"context"
	"net/http"
	"net/url"
)

// introspection is an RFC 7662 answer; inactive tokens carry only Active.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Iss       string `json:"iss,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Jti       string `json:"jti,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Patient   string `json:"patient,omitempty"`
	Encounter string `json:"encounter,omitempty"`
	FHIRUser  string `json:"fhirUser,omitempty"`
	Sandbox   string `json:"sandbox,omitempty"`
	// Cnf is a DPoP-bound token's key binding (RFC 9449 §6.2).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// introspect is the RFC 7662 endpoint. Callers authenticate as a
// confidential client or with a backend-services (system scope) token.
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	ev := s.newEvent(EndpointIntrospect)
	form, err := s.parsePostForm(w, r)
	if err == nil {
		if ev != nil {
			ev.fromTokenForm(r, form, s.now())
		}
		err = s.authorizeIntrospection(r, form, ev)
	}
	if err == nil && form.Get("token") == "" {
		err = ErrInvalidRequest.describe("token is required")
	}
	s.lookupSandbox(r.Context(), ev)
	s.observe(r.Context(), ev, err)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.introspectToken(r.Context(), form.Get("token")))
}

func (s *Server) authorizeIntrospection(r *http.Request, form url.Values, ev *Event) error {
	if r.Header.Get("Authorization") != "" && !hasBasicAuth(r) {
		g, err := s.Authenticate(r)
		if err != nil {
			return err
		}
		if ev != nil {
			ev.ClientID, ev.Sandbox, ev.Known = g.ClientID, g.Sandbox, true
		}
		if !g.Scopes.HasLevel(LevelSystem) {
			return ErrInsufficientScope.describe("introspection needs a backend-services token with system scopes")
		}
		return nil
	}
	c, err := s.authenticateClient(r.Context(), r, form)
	if err != nil {
		return err
	}
	if ev != nil {
		ev.fromClient(c.Client)
	}
	if c.method == authNone {
		return ErrInvalidClient.describe("introspection needs client authentication; public clients cannot introspect")
	}
	return nil
}

func hasBasicAuth(r *http.Request) bool {
	_, _, ok := r.BasicAuth()
	return ok
}

// introspectToken describes an access or refresh token.
func (s *Server) introspectToken(ctx context.Context, token string) introspection {
	if c, _, err := s.verifyAccessToken(ctx, token); err == nil {
		var aud string
		if len(c.Audience) > 0 {
			aud = c.Audience[0]
		}
		in := introspection{
			Active: true, Scope: c.Scope, ClientID: c.ClientID, Sub: c.Subject, Iss: c.Issuer,
			Aud: aud, Exp: c.Expiry.Time().Unix(), Iat: c.IssuedAt.Time().Unix(),
			Jti: c.ID, TokenType: "Bearer", Patient: c.Patient, Encounter: c.Encounter,
			FHIRUser: c.FHIRUser, Sandbox: c.Sandbox,
		}
		if c.Cnf.jkt() != "" {
			in.TokenType, in.Cnf = "DPoP", c.Cnf
		}
		return in
	}
	var g grantRecord
	if err := loadJSON(ctx, s.state, "rt:"+hashKey(token), &g); err == nil && !s.familyRevoked(ctx, g.Family) {
		return introspection{
			Active: true, Scope: g.Scope, ClientID: g.ClientID, Sub: subject(g), Iss: s.cfg.Issuer,
			TokenType: "refresh_token", Patient: g.Patient, Encounter: g.Encounter,
			FHIRUser: g.FHIRUser, Sandbox: g.Sandbox,
		}
	}
	return introspection{Active: false}
}

// revoke is the RFC 7009 endpoint: it answers 200 whether or not the token
// was known, so clients learn nothing about other clients' tokens.
// Revoking a refresh token revokes its whole grant.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	ev := s.newEvent(EndpointRevoke)
	form, err := s.parsePostForm(w, r)
	var c *authenticatedClient
	if err == nil {
		if ev != nil {
			ev.fromTokenForm(r, form, s.now())
		}
		c, err = s.authenticateClient(r.Context(), r, form)
	}
	if err == nil {
		if ev != nil {
			ev.fromClient(c.Client)
		}
		if form.Get("token") == "" {
			err = ErrInvalidRequest.describe("token is required")
		}
	}
	s.lookupSandbox(r.Context(), ev)
	s.observe(r.Context(), ev, err)
	if err != nil {
		writeJSONError(w, err)
		return
	}
	token := form.Get("token")
	ctx := r.Context()
	var ac accessClaims
	if err := s.keys.verify(token, &ac); err == nil && ac.ClientID == c.ID && ac.ID != "" {
		_ = s.state.Delete(ctx, "at:"+ac.ID)
	}
	var g grantRecord
	key := "rt:" + hashKey(token)
	if err := loadJSON(ctx, s.state, key, &g); err == nil && g.ClientID == c.ID {
		s.revokeFamily(ctx, g.Family)
		_ = s.state.Delete(ctx, key)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
