package tenant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"time"

	"golang.org/x/crypto/bcrypt"

	"hpsandbox/sandbox/throttle"
)

// SignIn is one attempt to sign in with a password, through the admin API
// (HTTP Basic) or the portal's sign-in form.
type SignIn struct {
	Username, Password string
	// From is the client's address: http.Request.RemoteAddr ("ip:port") or
	// an IP. Empty, the attempt is counted against the account only.
	From string
}

// SignInLimits bound password guessing: failures are counted per account
// and per client address, and past a free allowance each failure doubles
// the wait before the next attempt, up to a cap.
type SignInLimits struct {
	PerAccount, PerAddress throttle.Policy
	// MaxKeys bounds the accounts and addresses remembered, each; 0 means
	// throttle.DefaultMaxKeys.
	MaxKeys int
}

// DefaultSignInLimits: 5 wrong passwords for an account, or 20 from an
// address (a whole office may share one), are free; then waits of 1 s,
// 2 s, 4 s, … up to 15 minutes. A count whose last failure is an hour old
// starts over, and a success starts the account's over at once. An
// attacker who keeps failing can keep an account at the 15-minute wait,
// but never lock it for longer than that after its last failure.
func DefaultSignInLimits() SignInLimits {
	return SignInLimits{
		PerAccount: throttle.Policy{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour},
		PerAddress: throttle.Policy{Free: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour},
	}
}

// ThrottledError: too many wrong passwords for the account or from the
// address; the password was not checked. Try again after RetryAfter.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("tenant: too many failed sign-ins; try again in %s", e.RetryAfter.Round(time.Second))
}

// RetryAfterSeconds is RetryAfter as the whole seconds of an HTTP
// Retry-After header, rounded up.
func (e *ThrottledError) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// signInLimiters count sign-in failures.
type signInLimiters struct {
	accounts, addresses *throttle.Limiter
}

func newSignInLimiters(l SignInLimits, now func() time.Time) signInLimiters {
	return signInLimiters{accounts: throttle.New(l.PerAccount, now, l.MaxKeys), addresses: throttle.New(l.PerAddress, now, l.MaxKeys)}
}

// Authenticate checks a username and password, unless the account or the
// address has failed too often lately (a *ThrottledError, before any
// check). bcrypt is slow on purpose (tens of milliseconds), so a
// successful check is remembered for a few minutes: API clients send Basic
// credentials with every call, some of them side by side.
func (s *Service) Authenticate(ctx context.Context, in SignIn) (*Account, error) {
	addr := addressKey(in.From)
	wait := s.signIns.accounts.Wait(in.Username)
	if addr != "" {
		wait = max(wait, s.signIns.addresses.Wait(addr))
	}
	if wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	// Only while nothing waits: a remembered password must not tell a
	// guesser that it guessed right while the account is held.
	if c := s.creds.get(in.Username, in.Password); c != nil {
		// Gateways sharing the registry change and delete accounts
		// without telling this cache: what it remembers holds only while
		// the account is there with the hash the password was checked
		// against. A read is cheap beside bcrypt.
		a, err := s.reg.Account(ctx, in.Username)
		if err == nil && len(a.PasswordHash) > 0 && bytes.Equal(a.PasswordHash, c.PasswordHash) {
			return a, nil
		}
		s.creds.forget(in.Username)
	}
	if wait := s.signIns.accounts.Try(in.Username); wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	if addr != "" {
		if wait := s.signIns.addresses.Try(addr); wait > 0 {
			s.signIns.accounts.Done(in.Username)
			return nil, &ThrottledError{RetryAfter: wait}
		}
	}
	a, err := s.checkPassword(ctx, in.Username, in.Password)
	switch {
	case errors.Is(err, ErrBadCredentials):
		s.signIns.accounts.Fail(in.Username)
		if addr != "" {
			s.signIns.addresses.Fail(addr)
		}
	default:
		// A success starts the account's count over, but not the
		// address's: signing in to one's own account must not wipe out
		// guesses at others. Any other error is not the caller's fault.
		s.signIns.accounts.Done(in.Username)
		if err == nil {
			s.signIns.accounts.Reset(in.Username)
		}
		if addr != "" {
			s.signIns.addresses.Done(addr)
		}
	}
	return a, err
}

// checkPassword checks a password against the registry's hash.
func (s *Service) checkPassword(ctx context.Context, username, password string) (*Account, error) {
	a, err := s.reg.Account(ctx, username)
	if errors.Is(err, ErrNotFound) {
		// Spend the same time as a wrong password, so that timing does not
		// tell which usernames exist.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash(), []byte(password))
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, err
	}
	if len(a.PasswordHash) == 0 || bcrypt.CompareHashAndPassword(a.PasswordHash, []byte(password)) != nil {
		return nil, ErrBadCredentials
	}
	s.creds.put(username, password, a)
	return a, nil
}

// addressKey is the key of a client address: the IPv4 address, or the /64
// an IPv6 address is in (one machine usually has a whole /64); "" when
// from is empty.
func addressKey(from string) string {
	if from == "" {
		return ""
	}
	host := from
	if h, _, err := net.SplitHostPort(from); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "other " + host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}
