package tenant

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// NewAccount is what creating an account may say.
type NewAccount struct {
	Username    string `json:"username"`
	Name        string `json:"name,omitempty"`
	Role        Role   `json:"role"`
	Supplier    string `json:"supplier,omitempty"`
	Password    string `json:"password,omitempty"`
	OIDCIssuer  string `json:"oidc_issuer,omitempty"`
	OIDCSubject string `json:"oidc_subject,omitempty"`
}

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._@-]{1,62}$`)

// MinPasswordLength is the shortest password an account may have.
const MinPasswordLength = 10

// CreateAccount adds an account; only operators may. An account needs a
// password, an OpenID Connect identity, or both.
func (s *Service) CreateAccount(ctx context.Context, who *Account, req NewAccount) (*Account, error) {
	if who == nil || who.Role != RoleOperator {
		return nil, fmt.Errorf("%w: only operators manage accounts", ErrForbidden)
	}
	return s.createAccount(ctx, req)
}

func (s *Service) createAccount(ctx context.Context, req NewAccount) (*Account, error) {
	a := &Account{Username: req.Username, Name: strings.TrimSpace(req.Name), Role: req.Role, Supplier: req.Supplier,
		OIDCIssuer: req.OIDCIssuer, OIDCSubject: req.OIDCSubject, Created: s.now().UTC()}
	switch {
	case !usernameRE.MatchString(a.Username):
		return nil, invalid("username", "%q: want 2–63 letters, digits and . _ @ -", a.Username)
	case !a.Role.valid():
		return nil, invalid("role", "%q: want operator, reviewer or supplier", a.Role)
	case a.Role == RoleSupplier && !sandboxIDRE.MatchString(a.Supplier):
		return nil, invalid("supplier", "%q: a supplier account names its supplier: 3–40 lowercase letters, digits and inner hyphens", a.Supplier)
	case a.Role != RoleSupplier && a.Supplier != "":
		return nil, invalid("supplier", "only supplier accounts act for a supplier")
	case req.Password == "" && (a.OIDCIssuer == "" || a.OIDCSubject == ""):
		return nil, invalid("password", "an account needs a password or an OpenID Connect identity (oidc_issuer and oidc_subject)")
	case (a.OIDCIssuer == "") != (a.OIDCSubject == ""):
		return nil, invalid("oidc_subject", "give both oidc_issuer and oidc_subject, or neither")
	}
	if req.Password != "" {
		if len(req.Password) < MinPasswordLength || len(req.Password) > 72 {
			return nil, invalid("password", "want %d–72 characters", MinPasswordLength)
		}
		h, err := bcrypt.GenerateFromPassword([]byte(req.Password), s.cost)
		if err != nil {
			return nil, err
		}
		a.PasswordHash = h
	}
	if err := s.reg.CreateAccount(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// EnsureOperator creates the operator account username with password
// unless some operator account exists already. It reports whether it made
// one.
func (s *Service) EnsureOperator(ctx context.Context, username, password string) (bool, error) {
	all, err := s.reg.Accounts(ctx)
	if err != nil {
		return false, err
	}
	for _, a := range all {
		if a.Role == RoleOperator {
			return false, nil
		}
	}
	_, err = s.createAccount(ctx, NewAccount{Username: username, Name: "Operator", Role: RoleOperator, Password: password})
	if errors.Is(err, ErrExists) {
		// Another gateway sharing the registry, starting at once, made
		// it first.
		if a, err := s.reg.Account(ctx, username); err == nil && a.Role == RoleOperator {
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// Accounts lists every account; only operators may.
func (s *Service) Accounts(ctx context.Context, who *Account) ([]*Account, error) {
	if who.Role != RoleOperator {
		return nil, fmt.Errorf("%w: only operators manage accounts", ErrForbidden)
	}
	return s.reg.Accounts(ctx)
}

// DeleteAccount removes an account; only operators may, and not their own.
func (s *Service) DeleteAccount(ctx context.Context, who *Account, username string) error {
	if who.Role != RoleOperator {
		return fmt.Errorf("%w: only operators manage accounts", ErrForbidden)
	}
	if username == who.Username {
		return invalid("username", "an operator cannot delete its own account")
	}
	s.creds.forget(username)
	return s.reg.DeleteAccount(ctx, username)
}

// SetPassword changes the password of who's own account, or (operators)
// of anyone's.
func (s *Service) SetPassword(ctx context.Context, who *Account, username, password string) error {
	if who.Role != RoleOperator && who.Username != username {
		return fmt.Errorf("%w: account %q", ErrNotFound, username)
	}
	a, err := s.reg.Account(ctx, username)
	if err != nil {
		return fmt.Errorf("%w: account %q", ErrNotFound, username)
	}
	if len(password) < MinPasswordLength || len(password) > 72 {
		return invalid("password", "want %d–72 characters", MinPasswordLength)
	}
	if a.PasswordHash, err = bcrypt.GenerateFromPassword([]byte(password), s.cost); err != nil {
		return err
	}
	s.creds.forget(username)
	return s.reg.UpdateAccount(ctx, a)
}

// Account returns the account username (for a session that names it).
func (s *Service) Account(ctx context.Context, username string) (*Account, error) {
	a, err := s.reg.Account(ctx, username)
	if err != nil {
		return nil, fmt.Errorf("%w: account %q", ErrNotFound, username)
	}
	return a, nil
}

// AccountByOIDC returns the account linked to subject at issuer.
func (s *Service) AccountByOIDC(ctx context.Context, issuer, subject string) (*Account, error) {
	a, err := s.reg.AccountByOIDC(ctx, issuer, subject)
	if err != nil {
		return nil, fmt.Errorf("%w: no account is linked to %s at %s", ErrNotFound, subject, issuer)
	}
	return a, nil
}

// credentialTTL is how long a checked password is remembered.
const credentialTTL = 5 * time.Minute

// credentialCache remembers recently checked credentials by a hash of
// username and password; it never holds a password.
type credentialCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedCredential
}

type cachedCredential struct {
	sum     [32]byte
	account *Account
	expires time.Time
}

func newCredentialCache(now func() time.Time) *credentialCache {
	return &credentialCache{now: now, m: map[string]cachedCredential{}}
}

func credentialSum(username, password string) [32]byte {
	return sha256.Sum256([]byte(username + "\x00" + password))
}

func (c *credentialCache) get(username, password string) *Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[username]
	sum := credentialSum(username, password)
	if !ok || c.now().After(e.expires) || subtle.ConstantTimeCompare(e.sum[:], sum[:]) != 1 {
		return nil
	}
	cp := *e.account
	return &cp
}

func (c *credentialCache) put(username, password string, a *Account) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 {
		clear(c.m)
	}
	cp := *a
	c.m[username] = cachedCredential{sum: credentialSum(username, password), account: &cp, expires: c.now().Add(credentialTTL)}
}

func (c *credentialCache) forget(username string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, username)
}
