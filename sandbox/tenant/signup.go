package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/sandbox/throttle"
)

// AccountStatus is where an account stands.
type AccountStatus string

// StatusPending is an account that signed up and awaits an operator's
// approval.
const StatusPending AccountStatus = "pending"

// ErrPending: the password is right, but the account awaits an operator's
// approval. It is an ErrForbidden, so that every door refuses it as one.
var ErrPending = fmt.Errorf("%w: the account awaits an operator's approval", ErrForbidden)

// SignUp is a supplier asking for an account from the sign-in page.
type SignUp struct {
	Name, Email, Organisation, Password string
	// From is the client's address, as in SignIn.
	From string
}

// SignUpResult is what came of a sign-up. The portal answers a sign-up
// with an email already taken exactly as one that made an account, so
// that sign-up tells no more about which emails exist than sign-in does.
type SignUpResult struct {
	// Account is the account made, nil for a Duplicate.
	Account *Account
	// Pending says the account awaits an operator's approval (also said of
	// a Duplicate, as it would be of a new account).
	Pending bool
	// Duplicate says the email was taken and nothing was made.
	Duplicate bool
	// Joins says the organisation's supplier id was in use already, so
	// the account, once approved, sees that supplier's sandboxes.
	Joins bool
}

// DefaultSignUpLimit: three sign-ups from one address go through at
// once; then each waits twice as long as the one before, from a minute up
// to a day. The count starts over a day after the last.
func DefaultSignUpLimit() throttle.Policy {
	return throttle.Policy{Free: 2, Base: time.Minute, Max: 24 * time.Hour, Forget: 24 * time.Hour}
}

// SettingSignUpWithoutApproval is the operator setting that lets a
// sign-up be approved at once.
const SettingSignUpWithoutApproval = "signup_without_approval"

// SettingStore is a Registry that keeps the operator's server-wide
// settings, by name. A Registry without it has every setting off.
type SettingStore interface {
	// Setting returns the value of name, "" when it was never set.
	Setting(ctx context.Context, name string) (string, error)
	// SetSetting writes the value of name.
	SetSetting(ctx context.Context, name, value string) error
}

// SignUpWithoutApproval reports whether the operator lets sign-ups be
// approved at once.
func (s *Service) SignUpWithoutApproval(ctx context.Context) (bool, error) {
	st, ok := s.reg.(SettingStore)
	if !ok {
		return false, nil
	}
	v, err := st.Setting(ctx, SettingSignUpWithoutApproval)
	return v == "on", err
}

// SetSignUpWithoutApproval turns approval of sign-ups off (on=true) or on;
// only operators may.
func (s *Service) SetSignUpWithoutApproval(ctx context.Context, who *Account, on bool) error {
	if who == nil || who.Role != RoleOperator {
		return fmt.Errorf("%w: only operators change the server's settings", ErrForbidden)
	}
	st, ok := s.reg.(SettingStore)
	if !ok {
		return errors.New("tenant: this registry keeps no settings")
	}
	v := "off"
	if on {
		v = "on"
	}
	return st.SetSetting(ctx, SettingSignUpWithoutApproval, v)
}

// maxNameRunes bounds a signing-up person's and organisation's names.
const maxNameRunes = 100

// SignUp makes a supplier account for a person who asked from the
// sign-in page: pending until an operator approves it, unless the
// operator lets sign-ups through without approval and the organisation is
// new (joining an existing supplier's sandboxes always needs approval).
// The email is the username. Sign-ups are counted per client address: past
// the limit, a *ThrottledError before anything is checked.
func (s *Service) SignUp(ctx context.Context, in SignUp) (SignUpResult, error) {
	addr := addressKey(in.From)
	if addr != "" {
		if wait := s.signUps.Try(addr); wait > 0 {
			return SignUpResult{}, &ThrottledError{RetryAfter: wait}
		}
		// Every sign-up counts, made or not: the limit is on asking.
		defer s.signUps.Fail(addr)
	}
	name := strings.TrimSpace(in.Name)
	org := strings.TrimSpace(in.Organisation)
	email := strings.ToLower(strings.TrimSpace(in.Email))
	supplier := supplierID(org)
	switch {
	case name == "" || utf8.RuneCountInString(name) > maxNameRunes || strings.ContainsAny(name, "\x00\r\n"):
		return SignUpResult{}, invalid("name", "want your name, up to %d characters", maxNameRunes)
	case !validEmail(email):
		return SignUpResult{}, invalid("email", "%q: want an email address of letters, digits and . _ - @, such as kari@example.no", in.Email)
	case org == "" || utf8.RuneCountInString(org) > maxNameRunes || strings.ContainsAny(org, "\x00\r\n"):
		return SignUpResult{}, invalid("organisation", "want the organisation's name, up to %d characters", maxNameRunes)
	case !sandboxIDRE.MatchString(supplier):
		return SignUpResult{}, invalid("organisation", "%q: want a name with at least three letters or digits", org)
	case len(in.Password) < MinPasswordLength || len(in.Password) > 72:
		return SignUpResult{}, invalid("password", "want %d–72 characters", MinPasswordLength)
	}
	// Hash before looking the email up, so that a taken email costs the
	// same time as a new one.
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cost)
	if err != nil {
		return SignUpResult{}, err
	}
	open, err := s.SignUpWithoutApproval(ctx)
	if err != nil {
		return SignUpResult{}, err
	}
	joins, err := s.supplierInUse(ctx, supplier)
	if err != nil {
		return SignUpResult{}, err
	}
	res := SignUpResult{Pending: !open || joins, Joins: joins}
	a := &Account{Username: email, Email: email, Name: name, Role: RoleSupplier, Supplier: supplier, Created: s.now().UTC(),
		PasswordHash: hash}
	if res.Pending {
		a.Status = StatusPending
	}
	if err := s.reg.CreateAccount(ctx, a); errors.Is(err, ErrExists) {
		res.Duplicate = true
		s.log.WarnContext(ctx, "tenant: sign-up with an email already taken", "supplier", supplier)
		return res, nil
	} else if err != nil {
		return SignUpResult{}, err
	}
	res.Account = a
	s.log.InfoContext(ctx, "tenant: sign-up", "username", a.Username, "supplier", supplier, "pending", res.Pending, "joins", joins)
	return res, nil
}

// validEmail reports whether s is a plain address that is also a valid
// username.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s, "@") && usernameRE.MatchString(s)
}

// supplierID makes a supplier id of an organisation's name: lowercase
// letters and digits, other runs as one hyphen, Norwegian letters spelt
// out, at most 40 characters.
func supplierID(org string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(org) {
		var out string
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			out = string(r)
		case r == 'æ':
			out = "ae"
		case r == 'ø' || r == 'ö':
			out = "o"
		case r == 'å' || r == 'ä' || r == 'á' || r == 'à':
			out = "a"
		case r == 'é' || r == 'è':
			out = "e"
		case r == 'ü':
			out = "u"
		default:
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteString(out)
	}
	id := b.String()
	if len(id) > 40 {
		id = strings.TrimRight(id[:40], "-")
	}
	return id
}

// supplierInUse reports whether any account or sandbox is of supplier.
func (s *Service) supplierInUse(ctx context.Context, supplier string) (bool, error) {
	accounts, err := s.reg.Accounts(ctx)
	if err != nil {
		return false, err
	}
	for _, a := range accounts {
		if a.Supplier == supplier {
			return true, nil
		}
	}
	sbs, err := s.reg.Sandboxes(ctx, supplier)
	return len(sbs) > 0, err
}

// ApproveAccount lets a pending account sign in; only operators may.
func (s *Service) ApproveAccount(ctx context.Context, who *Account, username string) (*Account, error) {
	a, err := s.pendingAccount(ctx, who, username)
	if err != nil {
		return nil, err
	}
	a.Status = ""
	if err := s.reg.UpdateAccount(ctx, a); err != nil {
		return nil, err
	}
	s.creds.forget(username)
	s.log.InfoContext(ctx, "tenant: sign-up approved", "username", username, "supplier", a.Supplier, "by", who.Username)
	return a, nil
}

// RejectAccount removes a pending account; only operators may.
func (s *Service) RejectAccount(ctx context.Context, who *Account, username string) error {
	a, err := s.pendingAccount(ctx, who, username)
	if err != nil {
		return err
	}
	if err := s.reg.DeleteAccount(ctx, username); err != nil {
		return err
	}
	s.creds.forget(username)
	s.log.InfoContext(ctx, "tenant: sign-up rejected", "username", username, "supplier", a.Supplier, "by", who.Username)
	return nil
}

func (s *Service) pendingAccount(ctx context.Context, who *Account, username string) (*Account, error) {
	if who == nil || who.Role != RoleOperator || who.Pending() {
		return nil, fmt.Errorf("%w: only operators approve sign-ups", ErrForbidden)
	}
	a, err := s.reg.Account(ctx, username)
	if err != nil {
		return nil, fmt.Errorf("%w: account %q", ErrNotFound, username)
	}
	if !a.Pending() {
		return nil, invalid("username", "the account %q is not awaiting approval", username)
	}
	return a, nil
}

// settingSchema is the table of the operator's server-wide settings.
const settingSchema = `CREATE TABLE IF NOT EXISTS setting (
		name TEXT PRIMARY KEY,
		value TEXT NOT NULL
	)`

var _ SettingStore = (*SQLiteRegistry)(nil)

// Setting implements SettingStore.
func (r *SQLiteRegistry) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := r.db.QueryRowContext(ctx, `SELECT value FROM setting WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// SetSetting implements SettingStore.
func (r *SQLiteRegistry) SetSetting(ctx context.Context, name, value string) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO setting (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
		name, value)
	return err
}
