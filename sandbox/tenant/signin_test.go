package tenant

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"hpsandbox/sandbox/throttle"
)

func TestAuthenticate_WrongPasswordsBackOffPerAccountAndPerAddress(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	limits := &SignInLimits{
		PerAccount: throttle.Policy{Free: 2, Base: time.Second, Max: 8 * time.Second, Forget: time.Minute},
		PerAddress: throttle.Policy{Free: 4, Base: time.Second, Max: 8 * time.Second, Forget: time.Minute},
	}
	s, _ := newService(t, Options{Now: clock.Now, SignInLimits: limits})
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "carol", "dave"} {
		if _, err := s.CreateAccount(ctx, operator, NewAccount{Username: u, Role: RoleReviewer, Password: "password-of-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	const ok, bad, throttled = "ok", "wrong", "throttled"
	steps := []struct {
		name, user, pass, from string
		advance                time.Duration
		want                   string
		retryAfter             time.Duration // when throttled
	}{
		{"1st wrong password", "alice", "x", "192.0.2.1:5000", 0, bad, 0},
		{"2nd wrong password", "alice", "x", "192.0.2.1:5001", 0, bad, 0},
		{"3rd wrong password, past the free 2", "alice", "x", "192.0.2.1:5002", 0, bad, 0},
		{"even the right password now waits", "alice", "password-of-alice", "192.0.2.1:5003", 0, throttled, time.Second},
		{"from another address too: the account is throttled", "alice", "password-of-alice", "198.51.100.7:1", 0, throttled, time.Second},
		{"after the wait, the right password", "alice", "password-of-alice", "192.0.2.1:5004", time.Second, ok, 0},
		{"a success starts the account over", "alice", "x", "198.51.100.7:1", 0, bad, 0},
		{"and its next failure is free again", "alice", "x", "198.51.100.7:1", 0, bad, 0},
		// 192.0.2.1 has 3 failures (the success was taken back); two more
		// spraying other accounts pass its free 4 …
		{"spraying another account", "bob", "x", "192.0.2.1:6000", 0, bad, 0},
		{"spraying a made-up account", "mallory", "x", "192.0.2.1:6001", 0, bad, 0},
		{"… so the address waits, whatever the account", "carol", "password-of-carol", "192.0.2.1:6002", 0, throttled, time.Second},
		{"another address is not held up", "carol", "password-of-carol", "203.0.113.9:1", 0, ok, 0},
		{"after the address's wait, a success", "dave", "password-of-dave", "192.0.2.1:1", time.Second, ok, 0},
		{"does not clear the address's count: its next failure", "dave", "x", "192.0.2.1:1", 0, bad, 0},
		{"doubles its wait", "dave", "password-of-dave", "192.0.2.1:1", 0, throttled, 2 * time.Second},
		{"one IPv6 /64 is one address", "bob", "password-of-bob", "[2001:db8::1]:1", 0, ok, 0},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		_, err := s.Authenticate(ctx, SignIn{Username: st.user, Password: st.pass, From: st.from})
		var te *ThrottledError
		got := ok
		switch {
		case errors.As(err, &te):
			got = throttled
		case errors.Is(err, ErrBadCredentials):
			got = bad
		case err != nil:
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Fatalf("%s: %s (%v), want %s", st.name, got, err, st.want)
		}
		if te != nil && te.RetryAfter != st.retryAfter {
			t.Errorf("%s: retry after %s, want %s", st.name, te.RetryAfter, st.retryAfter)
		}
	}
	// One /64: six machines of it guessing count as one address, whose
	// fifth failure makes the sixth attempt wait.
	for i, from := range []string{"[2001:db8::2]:1", "[2001:db8::3]:1", "[2001:db8::4]:1", "[2001:db8:0:0:ffff::5]:1", "[2001:db8::6]:1", "[2001:db8::7]:1"} {
		_, err := s.Authenticate(ctx, SignIn{Username: "user-" + from, Password: "x", From: from})
		if want := i == 5; errors.As(err, new(*ThrottledError)) != want {
			t.Errorf("attempt %d from %s: %v, throttled want %v", i+1, from, err, want)
		}
	}
}

func TestAuthenticate_AnAttackerCannotLockAnAccountBeyondTheCap(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, _ := newService(t, Options{Now: clock.Now})
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, operator, NewAccount{Username: "alice", Role: RoleReviewer, Password: "password-of-alice"}); err != nil {
		t.Fatal(err)
	}
	limits := DefaultSignInLimits()
	// The attacker guesses as fast as it is let, from many addresses.
	longest := time.Duration(0)
	for i := range 40 {
		_, err := s.Authenticate(ctx, SignIn{Username: "alice", Password: "guess", From: "192.0.2." + string(rune('0'+i%10)) + ":1"})
		if te, ok := errors.AsType[*ThrottledError](err); ok {
			longest = max(longest, te.RetryAfter)
			clock.Advance(te.RetryAfter)
		}
	}
	if longest != limits.PerAccount.Max {
		t.Errorf("the longest wait was %s, want the cap %s", longest, limits.PerAccount.Max)
	}
	// Once the attacker stops, the real user waits at most the cap.
	clock.Advance(limits.PerAccount.Max)
	if _, err := s.Authenticate(ctx, SignIn{Username: "alice", Password: "password-of-alice", From: "203.0.113.1:1"}); err != nil {
		t.Errorf("the real user, %s after the last guess: %v", limits.PerAccount.Max, err)
	}
}

func TestAddressKey(t *testing.T) {
	for from, want := range map[string]string{
		"":                      "",
		"192.0.2.1:443":         "192.0.2.1",
		"192.0.2.1":             "192.0.2.1",
		"[::ffff:192.0.2.1]:80": "192.0.2.1",
		"[2001:db8:1:2:3::4]:1": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:1":      "fe80::/64",
		"2001:db8:1:2:3::4":     "2001:db8:1:2::/64",
		"pipe":                  "other pipe",
	} {
		if got := addressKey(from); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", from, got, want)
		}
	}
}

func TestAuthenticate_ARememberedPasswordWaitsLikeAnyOtherWhileTheAccountIsHeld(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, _ := newService(t, Options{Now: clock.Now})
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, operator, NewAccount{Username: "ci", Role: RoleReviewer, Password: "password-of-ci"}); err != nil {
		t.Fatal(err)
	}
	right := SignIn{Username: "ci", Password: "password-of-ci", From: "192.0.2.1:1"}
	if _, err := s.Authenticate(ctx, right); err != nil {
		t.Fatal(err)
	}
	// A client sending its (remembered) credentials side by side is never
	// held up.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range 50 {
		wg.Go(func() {
			if _, err := s.Authenticate(ctx, right); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of 50 simultaneous sign-ins failed: %v", len(errs), errs[0])
	}
	// A guesser elsewhere makes the account wait, and then the remembered
	// password is not looked at either: it would tell the guesser.
	for range DefaultSignInLimits().PerAccount.Free + 1 {
		if _, err := s.Authenticate(ctx, SignIn{Username: "ci", Password: "guess", From: "198.51.100.1:1"}); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("a guess: %v", err)
		}
	}
	if _, err := s.Authenticate(ctx, right); !errors.As(err, new(*ThrottledError)) {
		t.Errorf("the remembered password while the account waits: %v, want a ThrottledError", err)
	}
	clock.Advance(time.Second)
	if _, err := s.Authenticate(ctx, right); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

// Two gateways over one registry: a password remembered by one stops
// working there as soon as the other deletes the account or changes its
// password.
func TestAuthenticate_RememberedPasswordFollowsChangesMadeByAnotherGateway(t *testing.T) {
	ctx := context.Background()
	a, _ := newService(t, Options{})
	b, _ := newService(t, Options{Path: a.reg.(*SQLRegistry).path})
	for _, u := range []string{"ci", "gone"} {
		if _, err := a.CreateAccount(ctx, operator, NewAccount{Username: u, Role: RoleReviewer, Password: "password-of-" + u}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"ci", "gone"} {
		if _, err := b.Authenticate(ctx, SignIn{Username: u, Password: "password-of-" + u}); err != nil {
			t.Fatalf("%s at gateway b: %v", u, err)
		}
	}
	if err := a.DeleteAccount(ctx, operator, "gone"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, SignIn{Username: "gone", Password: "password-of-gone"}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a deleted account's remembered password: %v, want ErrBadCredentials", err)
	}
	if err := a.SetPassword(ctx, operator, "ci", "a new password of ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, SignIn{Username: "ci", Password: "password-of-ci"}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the old password, remembered: %v, want ErrBadCredentials", err)
	}
	got, err := b.Authenticate(ctx, SignIn{Username: "ci", Password: "a new password of ci"})
	if err != nil || got.Role != RoleReviewer {
		t.Fatalf("the new password: %+v, %v", got, err)
	}
}
