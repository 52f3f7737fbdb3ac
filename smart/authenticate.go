package smart

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Grant is what a valid access token allows: who, for which client and
// sandbox, in which patient/encounter context, with which scopes.
type Grant struct {
	// TokenID is the token's jti.
	TokenID string
	// ClientID is the app the token was issued to.
	ClientID string
	// Sandbox is the tenant; the gateway must refuse other sandboxes' data.
	Sandbox string
	// Subject is the token's sub: the fhirUser, else the client_id.
	Subject string
	// FHIRUser is the signed-in user, e.g. "Practitioner/123"; may be empty.
	FHIRUser string
	// Patient is the id of the patient in context; empty when none.
	Patient string
	// Encounter is the id of the encounter in context; empty when none.
	Encounter string
	// Scopes are the granted scopes.
	Scopes Scopes
	// Scope is every scope string the token was granted, as issued and in
	// order: the SMART scopes Scopes parses and any others, such as
	// HelseID-style "nhn:jft/api", that a connector judges itself.
	Scope []string
	// Claims are further string claims the token carries because the
	// client's registration adds them (such as the welfare-technology
	// hub's "vkp-id"); nil when none.
	Claims map[string]string
	// DPoPKey is the JWK SHA-256 thumbprint (RFC 7638) the token is bound
	// to (its cnf.jkt, RFC 9449); empty for a bearer token. A request
	// with a bound token must prove possession of that key.
	DPoPKey string
	// IssuedAt and ExpiresAt bound the token's life.
	IssuedAt, ExpiresAt time.Time
}

// Permission is how a grant may perform an interaction: at which level and,
// for patient level, restricted to which patient's compartment; plus any
// SMART v2 constraints the results must match.
type Permission struct {
	// Level is the broadest level that permits the interaction.
	Level Level
	// Patient is set for LevelPatient: only resources in this patient's
	// compartment may be touched.
	Patient string
	// Constraints, when non-empty, are FHIR search queries of which each
	// resource must match at least one.
	Constraints []url.Values
}

// Permit decides whether the grant allows interaction in on resourceType,
// preferring the broadest level (system, then user, then patient). Patient
// scopes only count when the grant has a patient in context (or the user is
// a patient). It returns ErrInsufficientScope when nothing permits it.
func (g *Grant) Permit(resourceType string, in Interaction) (Permission, error) {
	for _, level := range []Level{LevelSystem, LevelUser, LevelPatient} {
		a := g.Scopes.Access(level, resourceType, in)
		if !a.Allowed {
			continue
		}
		p := Permission{Level: level, Constraints: a.Constraints}
		if level == LevelPatient {
			p.Patient = g.patientContext()
			if p.Patient == "" {
				continue
			}
		}
		return p, nil
	}
	return Permission{}, ErrInsufficientScope.describe("no granted scope permits %c on %s", in, truncate(resourceType, 64))
}

// patientContext is the patient patient-level scopes apply to.
func (g *Grant) patientContext() string {
	if g.Patient != "" {
		return g.Patient
	}
	id, _ := strings.CutPrefix(g.FHIRUser, "Patient/")
	if id == g.FHIRUser {
		return ""
	}
	return id
}

// Authenticate checks the request's access token: signature (current or
// previous key), issuer, audience (the FHIR base), expiry and revocation,
// and for a DPoP-bound token its DPoP proof (AuthenticateAt, with the URL
// the request names). Errors are *Error values: ErrMissingToken without a
// token, ErrInvalidRequest for a malformed header, ErrInvalidToken,
// ErrInvalidDPoPProof or ErrUseDPoPNonce otherwise; answer them with
// Status, WWWAuthenticate() and DPoPNonce.
func (s *Server) Authenticate(r *http.Request) (*Grant, error) {
	return s.AuthenticateAt(r, requestURL(r))
}

// AuthenticateToken is Authenticate for a token taken from elsewhere.
func (s *Server) AuthenticateToken(ctx context.Context, token string) (*Grant, error) {
	c, scopes, err := s.verifyAccessToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return &Grant{
		TokenID: c.ID, ClientID: c.ClientID, Sandbox: c.Sandbox, Subject: c.Subject,
		FHIRUser: c.FHIRUser, Patient: c.Patient, Encounter: c.Encounter, Scopes: scopes,
		Scope:    strings.Fields(c.Scope),
		Claims:   c.Extra,
		IssuedAt: c.IssuedAt.Time(), ExpiresAt: c.Expiry.Time(),
		DPoPKey: c.Cnf.jkt(),
	}, nil
}

// verifyAccessToken checks an access token fully, including its
// server-side record, and returns its claims.
func (s *Server) verifyAccessToken(ctx context.Context, token string) (*accessClaims, Scopes, error) {
	c, scopes, ok := s.verified.get(token, s.keys)
	if !ok {
		var claims accessClaims
		var extra extraClaims
		kid, err := s.keys.verifyKID(token, &claims, &extra)
		if err != nil {
			return nil, nil, ErrInvalidToken.describe("token is malformed or not signed by this server")
		}
		pol, err := s.policy(ctx, claims.Sandbox)
		switch {
		case claims.Issuer != s.cfg.Issuer:
			return nil, nil, ErrInvalidToken.describe("token was issued by another server")
		case err != nil:
			return nil, nil, ErrInvalidToken.describe("token is for a sandbox that is no longer available")
		case !claims.Audience.Contains(pol.FHIRBase):
			return nil, nil, ErrInvalidToken.describe("token is not for this FHIR server")
		case claims.Expiry == nil || claims.IssuedAt == nil || claims.ID == "":
			return nil, nil, ErrInvalidToken.describe("token lacks exp, iat or jti")
		}
		smartPart, _ := SplitScopes(claims.Scope)
		if scopes, err = ParseScopes(smartPart); err != nil {
			return nil, nil, ErrInvalidToken.describe("token scope does not parse")
		}
		claims.Extra = extra
		c = &claims
		s.verified.put(token, c, scopes, kid, s.now())
	}
	if !s.now().Before(c.Expiry.Time()) {
		return nil, nil, ErrInvalidToken.describe("token has expired")
	}
	revoked, err := s.tokenRevoked(ctx, c)
	if err != nil {
		return nil, nil, ErrServerError.describe("internal error")
	}
	if revoked {
		return nil, nil, ErrInvalidToken.describe("token has been revoked")
	}
	return c, scopes, nil
}

// tokenRevoked reports whether the token's record is gone or its grant was
// revoked. A store that can read several keys at once (MultiGetter) reads
// the record and the grant's mark in one round trip.
func (s *Server) tokenRevoked(ctx context.Context, c *accessClaims) (bool, error) {
	var rec tokenRecord
	if mg, ok := s.state.(MultiGetter); ok && c.Family != "" {
		vals, err := mg.GetMany(ctx, "at:"+c.ID, "revoked:"+c.Family)
		if err != nil {
			return false, err
		}
		if vals[0] == nil || vals[1] != nil {
			return true, nil
		}
		if err := json.Unmarshal(vals[0], &rec); err != nil {
			return false, fmt.Errorf("smart: decoding state at: %w", err)
		}
		return rec.ClientID != c.ClientID || rec.Family != c.Family, nil
	}
	if err := loadJSON(ctx, s.state, "at:"+c.ID, &rec); err != nil {
		if isNotFound(err) {
			return true, nil
		}
		return false, err
	}
	return rec.ClientID != c.ClientID || s.familyRevoked(ctx, rec.Family), nil
}
