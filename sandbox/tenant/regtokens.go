package tenant

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"
)

// RegistrationToken is an initial access token (RFC 7591 §3) of one
// sandbox, as it is listed: the token itself is shown once, when it is
// issued, and kept only as a SHA-256 hash (it is 256 random bits, so a
// fast hash is enough).
type RegistrationToken struct {
	ID          string `json:"id"`
	Sandbox     string `json:"sandbox"`
	Description string `json:"description,omitempty"`
	// CreatedBy is the username that issued the token.
	CreatedBy string    `json:"created_by"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	// MaxUses is how many registrations the token allows; 0 is any number
	// until it expires.
	MaxUses int `json:"max_uses"`
	// Uses is how many apps registered with it.
	Uses int `json:"uses"`
}

// NewRegistrationToken is what issuing an initial access token may say.
type NewRegistrationToken struct {
	Description string `json:"description,omitempty"`
	// ExpiresIn is the token's lifetime in seconds; 0 means
	// DefaultRegistrationTokenTTL.
	ExpiresIn int `json:"expires_in,omitempty"`
	// MaxUses is how many apps may register with it; nil means 1, 0 any
	// number until it expires.
	MaxUses *int `json:"max_uses,omitempty"`
}

// Bounds of initial access tokens.
const (
	DefaultRegistrationTokenTTL = 24 * time.Hour
	MaxRegistrationTokenTTL     = 90 * 24 * time.Hour
	MaxRegistrationTokenUses    = 10000
	// registrationTokenPrefix starts every initial access token, so that
	// one found in a log or a repository is recognised.
	registrationTokenPrefix = "hpsiat_"
)

// ErrBadRegistrationToken: the initial access token is unknown, expired,
// revoked, used up, or of another sandbox.
var ErrBadRegistrationToken = errors.New("tenant: the initial access token is unknown, expired, revoked, used up or of another sandbox")

// IssueRegistrationToken issues an initial access token of a sandbox who
// may change, and returns it with the token itself, which is not kept and
// cannot be shown again.
func (s *Service) IssueRegistrationToken(ctx context.Context, who *Account, sandbox string, req NewRegistrationToken) (*RegistrationToken, string, error) {
	if _, err := s.changeable(ctx, who, sandbox); err != nil {
		return nil, "", err
	}
	ttl := DefaultRegistrationTokenTTL
	switch maxSecs := int(MaxRegistrationTokenTTL / time.Second); {
	case req.ExpiresIn == 0:
	case req.ExpiresIn >= 60 && req.ExpiresIn <= maxSecs: // compared before multiplying, which could overflow
		ttl = time.Duration(req.ExpiresIn) * time.Second
	default:
		return nil, "", invalid("expires_in", "%d: want 60 to %d seconds (90 days), or leave it out for a day", req.ExpiresIn, int(MaxRegistrationTokenTTL/time.Second))
	}
	uses := 1
	if req.MaxUses != nil {
		uses = *req.MaxUses
	}
	if uses < 0 || uses > MaxRegistrationTokenUses {
		return nil, "", invalid("max_uses", "%d: want 1 to %d registrations, or 0 for any number until the token expires", uses, MaxRegistrationTokenUses)
	}
	desc := strings.TrimSpace(req.Description)
	if len(desc) > 200 {
		return nil, "", invalid("description", "want at most 200 characters")
	}
	now := s.now().UTC()
	t := &RegistrationToken{ID: "iat-" + randomID(6), Sandbox: sandbox, Description: desc, CreatedBy: who.Username,
		Created: now, Expires: now.Add(ttl), MaxUses: uses}
	secret := registrationTokenPrefix + randomID(32)
	if err := s.reg.CreateRegistrationToken(ctx, t, registrationTokenHash(secret)); err != nil {
		return nil, "", err
	}
	s.log.Info("initial access token issued", "sandbox", sandbox, "token_id", t.ID, "by", who.Username,
		"expires", t.Expires, "max_uses", t.MaxUses)
	return t, secret, nil
}

// RegistrationTokens lists the initial access tokens of a sandbox who may
// see, newest first, expired and used-up ones too.
func (s *Service) RegistrationTokens(ctx context.Context, who *Account, sandbox string) ([]*RegistrationToken, error) {
	if _, err := s.SandboxFor(ctx, who, sandbox); err != nil {
		return nil, err
	}
	return s.reg.RegistrationTokens(ctx, sandbox)
}

// RevokeRegistrationToken removes an initial access token of a sandbox who
// may change. Apps registered with it stay.
func (s *Service) RevokeRegistrationToken(ctx context.Context, who *Account, sandbox, id string) error {
	if _, err := s.changeable(ctx, who, sandbox); err != nil {
		return err
	}
	if err := s.reg.DeleteRegistrationToken(ctx, sandbox, id); err != nil {
		return err
	}
	s.log.Info("initial access token revoked", "sandbox", sandbox, "token_id", id, "by", who.Username)
	return nil
}

func registrationTokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// checkRegistrationToken returns the token's record if token is a usable
// initial access token of sandbox, ErrBadRegistrationToken otherwise.
func (s *Service) checkRegistrationToken(ctx context.Context, sandbox, token string) (*RegistrationToken, error) {
	t, err := s.reg.RegistrationTokenByHash(ctx, registrationTokenHash(token))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrBadRegistrationToken
	}
	if err != nil {
		return nil, err
	}
	if t.Sandbox != sandbox || !s.now().Before(t.Expires) || (t.MaxUses > 0 && t.Uses >= t.MaxUses) {
		return nil, ErrBadRegistrationToken
	}
	return t, nil
}
