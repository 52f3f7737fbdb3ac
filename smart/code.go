package smart

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// grantRecord is what an authorization (code, then refresh tokens) grants;
// every token issued from one authorization shares its Family, so they can
// be revoked together.
type grantRecord struct {
	ClientID    string
	Sandbox     string
	Scope       string
	FHIRUser    string
	Patient     string
	Encounter   string
	Nonce       string
	AuthTime    int64
	NeedBanner  bool
	StyleURL    string
	Intent      string
	Family      string
	RedirectURI string // authorization codes only
	Challenge   string // authorization codes only
	// JKT is the thumbprint of the DPoP key the tokens are bound to.
	JKT string `json:",omitempty"`
	// Claims are the client's extra claims (Client.Claims).
	Claims map[string]string `json:",omitempty"`
}

// issueCode stores the session's grant under a new authorization code.
func (s *Server) issueCode(ctx context.Context, sess *authSession) (string, error) {
	code, err := randomToken()
	if err != nil {
		return "", err
	}
	family, err := randomToken()
	if err != nil {
		return "", err
	}
	g := grantRecord{
		ClientID: sess.ClientID, Sandbox: sess.Sandbox, Scope: sess.Scope, FHIRUser: sess.FHIRUser,
		Patient: sess.Patient, Encounter: sess.Encounter, Nonce: sess.Nonce, AuthTime: sess.AuthTime,
		Family: family, RedirectURI: sess.RedirectURI, Challenge: sess.Challenge,
		// A code bound by dpop_jkt is redeemed with a proof of that key only.
		JKT: sess.DPoPJKT,
		// Standalone apps run outside any EHR frame, so they show the banner.
		NeedBanner: true,
	}
	if lc := sess.Launch; lc != nil {
		g.NeedBanner, g.StyleURL, g.Intent = lc.NeedPatientBanner, lc.SmartStyleURL, lc.Intent
	}
	if err := storeJSON(ctx, s.state, "code:"+hashKey(code), g, s.cfg.CodeTTL); err != nil {
		return "", err
	}
	return code, nil
}

// verifyPKCE checks an RFC 7636 S256 code_verifier against the challenge.
func verifyPKCE(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}
