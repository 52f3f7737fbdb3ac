package tenant

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
	if err := s.reg.insertRegistrationToken(ctx, t, registrationTokenHash(secret)); err != nil {
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
	return s.reg.registrationTokens(ctx, sandbox)
}

// RevokeRegistrationToken removes an initial access token of a sandbox who
// may change. Apps registered with it stay.
func (s *Service) RevokeRegistrationToken(ctx context.Context, who *Account, sandbox, id string) error {
	if _, err := s.changeable(ctx, who, sandbox); err != nil {
		return err
	}
	if err := s.reg.deleteRegistrationToken(ctx, sandbox, id); err != nil {
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
	t, err := s.reg.registrationTokenByHash(ctx, registrationTokenHash(token))
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

// --- registry

const registrationTokenSchema = `CREATE TABLE IF NOT EXISTS registration_token (
		id TEXT PRIMARY KEY,
		sandbox TEXT NOT NULL REFERENCES sandbox(id) ON DELETE CASCADE,
		hash BLOB NOT NULL UNIQUE,
		body TEXT NOT NULL,
		expires INTEGER NOT NULL,
		max_uses INTEGER NOT NULL,
		uses INTEGER NOT NULL
	)`

func (r *registry) insertRegistrationToken(ctx context.Context, t *RegistrationToken, hash []byte) error {
	body, _ := json.Marshal(t)
	_, err := r.db.ExecContext(ctx, `INSERT INTO registration_token (id, sandbox, hash, body, expires, max_uses, uses)
		VALUES (?, ?, ?, ?, ?, ?, 0)`, t.ID, t.Sandbox, hash, string(body), ms(t.Expires), t.MaxUses)
	if isUnique(err) {
		return fmt.Errorf("%w: initial access token %q", ErrExists, t.ID)
	}
	return err
}

func scanRegistrationToken(row interface{ Scan(...any) error }) (*RegistrationToken, error) {
	var body string
	var uses int
	if err := row.Scan(&body, &uses); err != nil {
		return nil, err
	}
	var t RegistrationToken
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return nil, fmt.Errorf("tenant: stored initial access token: %w", err)
	}
	t.Uses = uses
	return &t, nil
}

func (r *registry) registrationTokenByHash(ctx context.Context, hash []byte) (*RegistrationToken, error) {
	t, err := scanRegistrationToken(r.db.QueryRowContext(ctx, `SELECT body, uses FROM registration_token WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return t, err
}

func (r *registry) registrationTokens(ctx context.Context, sandbox string) ([]*RegistrationToken, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT body, uses FROM registration_token WHERE sandbox = ? ORDER BY rowid DESC`, sandbox)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*RegistrationToken{}
	for rows.Next() {
		t, err := scanRegistrationToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// useRegistrationToken counts one registration against the token with
// hash, if it is still of sandbox, unexpired and not used up at now; a
// single statement, so that two registrations racing for a token's last
// use cannot both have it.
func (r *registry) useRegistrationToken(ctx context.Context, sandbox string, hash []byte, now time.Time) error {
	res, err := r.db.ExecContext(ctx, `UPDATE registration_token SET uses = uses + 1
		WHERE hash = ? AND sandbox = ? AND expires > ? AND (max_uses = 0 OR uses < max_uses)`, hash, sandbox, ms(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrBadRegistrationToken
	}
	return nil
}

func (r *registry) deleteRegistrationToken(ctx context.Context, sandbox, id string) error {
	res, err := r.db.ExecContext(ctx, `DELETE FROM registration_token WHERE id = ? AND sandbox = ?`, id, sandbox)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: initial access token %q", ErrNotFound, id)
	}
	return nil
}
