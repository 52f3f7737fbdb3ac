package smart

import (
	"context"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// accessClaims are the claims of an access token: a JWT a resource server
// can verify offline with the JWKS, backed by a server-side record so it
// can be revoked.
type accessClaims struct {
	jwt.Claims
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"`
	Patient   string `json:"patient,omitempty"`
	Encounter string `json:"encounter,omitempty"`
	FHIRUser  string `json:"fhirUser,omitempty"`
	Sandbox   string `json:"sandbox,omitempty"`
	// Family names the grant the token belongs to (random, not a secret),
	// so that its record and the grant's revocation mark can be read in
	// one round trip.
	Family string `json:"fam,omitempty"`
	// Cnf binds the token to a DPoP key (RFC 9449 §6.1).
	Cnf *confirmation `json:"cnf,omitempty"`
	// Extra are the client's claims (Client.Claims), signed as top-level
	// claims beside these.
	Extra map[string]string `json:"-"`
}

// idClaims are the claims of an OpenID Connect id_token.
type idClaims struct {
	jwt.Claims
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	FHIRUser string `json:"fhirUser,omitempty"`
}

// tokenRecord is the server-side record of an access token, keyed by jti;
// its absence means the token is revoked.
type tokenRecord struct {
	Family   string
	ClientID string
}

// familyTTL is how long revocation marks of a grant family must live: as
// long as any token of the family can.
func (s *Server) familyTTL() time.Duration {
	ttl := max(s.cfg.AccessTokenTTL, s.cfg.RefreshTokenTTL, s.cfg.CodeTTL)
	if s.policies != nil {
		// A sandbox's tokens may live up to MaxPolicyTTL.
		ttl = max(ttl, MaxPolicyTTL)
	}
	return ttl
}

// revokeFamily revokes every access and refresh token of a grant.
func (s *Server) revokeFamily(ctx context.Context, family string) {
	if family == "" {
		return
	}
	if err := s.state.Put(ctx, "revoked:"+family, []byte{1}, s.familyTTL()); err != nil {
		s.log.ErrorContext(ctx, "revoking grant failed", "err", err)
	}
}

func (s *Server) familyRevoked(ctx context.Context, family string) bool {
	_, err := s.state.Get(ctx, "revoked:"+family)
	return err == nil
}

// subject is the `sub` of tokens for a grant: the user, else the client.
func subject(g grantRecord) string {
	if g.FHIRUser != "" {
		return g.FHIRUser
	}
	return g.ClientID
}

// issueTokens mints an access token with scope for grant g, plus a refresh
// token (when allowRefresh and offline_access or online_access was
// granted) and an id_token (when openid was granted).
func (s *Server) issueTokens(ctx context.Context, g grantRecord, scope string, allowRefresh bool) (*tokenResponse, error) {
	now := s.now()
	pol, err := s.policy(ctx, g.Sandbox)
	if err != nil {
		return nil, ErrInvalidGrant.describe("the grant's sandbox is no longer available")
	}
	jti, err := randomToken()
	if err != nil {
		return nil, err
	}
	claims := accessClaims{
		Claims: jwt.Claims{
			Issuer: s.cfg.Issuer, Subject: subject(g), Audience: jwt.Audience{pol.FHIRBase},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(pol.AccessTokenTTL)), ID: jti,
		},
		ClientID: g.ClientID, Scope: scope, Patient: g.Patient, Encounter: g.Encounter,
		FHIRUser: g.FHIRUser, Sandbox: g.Sandbox, Family: g.Family,
	}
	tokenType := "Bearer"
	if g.JKT != "" {
		claims.Cnf, tokenType = &confirmation{JKT: g.JKT}, "DPoP"
	}
	signed := any(claims)
	if len(g.Claims) > 0 {
		if signed, err = withExtraClaims(claims, g.Claims); err != nil {
			return nil, err
		}
	}
	at, err := s.keys.signAccess(signed)
	if err != nil {
		return nil, err
	}
	if err := storeJSON(ctx, s.state, "at:"+jti, tokenRecord{Family: g.Family, ClientID: g.ClientID}, pol.AccessTokenTTL); err != nil {
		return nil, err
	}
	resp := &tokenResponse{
		AccessToken: at, TokenType: tokenType, ExpiresIn: int64(pol.AccessTokenTTL / time.Second),
		Scope: scope, Patient: g.Patient, Encounter: g.Encounter,
		SmartStyleURL: g.StyleURL, Intent: g.Intent,
	}
	smartPart, _ := SplitScopes(g.Scope)
	granted, _ := ParseScopes(smartPart)
	if granted.Has("launch") || granted.Has("launch/patient") || g.Patient != "" {
		banner := g.NeedBanner
		resp.NeedPatientBanner = &banner
	}
	if allowRefresh && (granted.Has("offline_access") || granted.Has("online_access")) {
		rt, err := randomToken()
		if err != nil {
			return nil, err
		}
		if err := storeJSON(ctx, s.state, "rt:"+hashKey(rt), g, pol.RefreshTokenTTL); err != nil {
			return nil, err
		}
		resp.RefreshToken = rt
	}
	if granted.Has("openid") {
		id := idClaims{
			Claims: jwt.Claims{
				Issuer: s.cfg.Issuer, Subject: subject(g), Audience: jwt.Audience{g.ClientID},
				IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(pol.AccessTokenTTL)),
			},
			AuthTime: g.AuthTime, Nonce: g.Nonce,
		}
		if granted.Has("fhirUser") || granted.Has("profile") {
			id.FHIRUser = g.FHIRUser
			if id.FHIRUser != "" {
				id.FHIRUser = pol.FHIRBase + "/" + g.FHIRUser
			}
		}
		if resp.IDToken, err = s.keys.sign(id); err != nil {
			return nil, err
		}
	}
	return resp, nil
}
