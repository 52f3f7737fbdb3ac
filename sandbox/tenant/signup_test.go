package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/throttle"
)

func TestSignUp_PendingUntilApproved(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	op, err := s.createAccount(ctx, NewAccount{Username: "op", Role: RoleOperator, Password: "operator-password"})
	if err != nil {
		t.Fatal(err)
	}
	in := SignUp{Name: "Kari Nordmann", Email: "Kari@Example.no", Organisation: "Fjord Helse AS", Password: "kari-password", From: "192.0.2.1:1"}
	res, err := s.SignUp(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pending || res.Duplicate || res.Joins || res.Account == nil {
		t.Fatalf("result %+v, want a new pending account", res)
	}
	a := res.Account
	if a.Username != "kari@example.no" || a.Email != "kari@example.no" || a.Role != RoleSupplier || a.Supplier != "fjord-helse-as" || !a.Pending() {
		t.Errorf("account %+v", a)
	}
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"pending account signs in: refused", func() error {
			_, err := s.Authenticate(ctx, SignIn{Username: "kari@example.no", Password: "kari-password"})
			return err
		}, ErrPending},
		{"pending is refused as forbidden by every door (the admin API answers 403)", func() error {
			_, err := s.Authenticate(ctx, SignIn{Username: "kari@example.no", Password: "kari-password"})
			return err
		}, ErrForbidden},
		{"pending account, wrong password: as any wrong password", func() error {
			_, err := s.Authenticate(ctx, SignIn{Username: "kari@example.no", Password: "wrong-password"})
			return err
		}, ErrBadCredentials},
		{"self-approval refused", func() error { _, err := s.ApproveAccount(ctx, a, a.Username); return err }, ErrForbidden},
		{"a supplier cannot approve", func() error { _, err := s.ApproveAccount(ctx, supplierA, a.Username); return err }, ErrForbidden},
		{"a reviewer cannot approve", func() error { _, err := s.ApproveAccount(ctx, reviewer, a.Username); return err }, ErrForbidden},
		{"a supplier cannot reject", func() error { return s.RejectAccount(ctx, supplierA, a.Username) }, ErrForbidden},
		{"a supplier cannot open sign-up", func() error { return s.SetSignUpWithoutApproval(ctx, supplierA, true) }, ErrForbidden},
		{"an operator cannot approve an active account", func() error { _, err := s.ApproveAccount(ctx, op, "op"); return err }, nil},
		{"an operator approves", func() error { _, err := s.ApproveAccount(ctx, op, a.Username); return err }, nil},
		{"the approved account signs in", func() error {
			_, err := s.Authenticate(ctx, SignIn{Username: "kari@example.no", Password: "kari-password"})
			return err
		}, nil},
	}
	for _, st := range steps {
		err := st.do()
		switch {
		case st.name == "an operator cannot approve an active account":
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Errorf("%s: %v, want an InvalidError", st.name, err)
			}
		case st.want == nil && err != nil, st.want != nil && !errors.Is(err, st.want):
			t.Errorf("%s: %v, want %v", st.name, err, st.want)
		}
	}
}

func TestSignUp_Rules(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	op, err := s.createAccount(ctx, NewAccount{Username: "op", Role: RoleOperator, Password: "operator-password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.createAccount(ctx, NewAccount{Username: "alice", Role: RoleSupplier, Supplier: "acme", Password: "alice-password"}); err != nil {
		t.Fatal(err)
	}
	good := SignUp{Name: "Ola", Email: "ola@example.no", Organisation: "Ny Leverandør", Password: "ola-password"}
	with := func(f func(*SignUp)) SignUp { in := good; f(&in); return in }
	invalidCases := map[string]SignUp{
		"no name":            with(func(in *SignUp) { in.Name = " " }),
		"name with newline":  with(func(in *SignUp) { in.Name = "a\nb" }),
		"not an email":       with(func(in *SignUp) { in.Email = "ola" }),
		"email with a name":  with(func(in *SignUp) { in.Email = "Ola <ola@example.no>" }),
		"email with a plus":  with(func(in *SignUp) { in.Email = "ola+x@example.no" }),
		"no organisation":    with(func(in *SignUp) { in.Organisation = "" }),
		"organisation of !!": with(func(in *SignUp) { in.Organisation = "!!" }),
		"short password":     with(func(in *SignUp) { in.Password = "short" }),
		"long password":      with(func(in *SignUp) { in.Password = string(make([]byte, 73)) }),
	}
	for name, in := range invalidCases {
		var inv *InvalidError
		if _, err := s.SignUp(ctx, in); !errors.As(err, &inv) {
			t.Errorf("%s: %v, want an InvalidError", name, err)
		}
	}

	// Without approval, a new organisation's account is approved at once;
	// one that would join an existing supplier still waits.
	if err := s.SetSignUpWithoutApproval(ctx, op, true); err != nil {
		t.Fatal(err)
	}
	if on, err := s.SignUpWithoutApproval(ctx); err != nil || !on {
		t.Fatalf("setting: %v %v", on, err)
	}
	res, err := s.SignUp(ctx, good)
	if err != nil || res.Pending || res.Account == nil || res.Account.Supplier != "ny-leverandor" {
		t.Fatalf("open sign-up: %+v %v", res, err)
	}
	if _, err := s.Authenticate(ctx, SignIn{Username: "ola@example.no", Password: "ola-password"}); err != nil {
		t.Errorf("open sign-up, then sign-in: %v", err)
	}
	joiner, err := s.SignUp(ctx, with(func(in *SignUp) { in.Email = "mallory@example.no"; in.Organisation = "ACME" }))
	if err != nil || !joiner.Pending || !joiner.Joins {
		t.Errorf("joining an existing supplier: %+v %v, want pending", joiner, err)
	}

	// A taken email: nothing made, nothing changed, and the same answer
	// as a new account would get.
	dup, err := s.SignUp(ctx, with(func(in *SignUp) { in.Email = "OLA@example.no"; in.Password = "another-password" }))
	// (It would join the supplier the first sign-up made, so it says
	// pending, as a new account of that organisation would.)
	if err != nil || !dup.Duplicate || dup.Account != nil || !dup.Pending || !dup.Joins {
		t.Errorf("duplicate: %+v %v", dup, err)
	}
	if _, err := s.Authenticate(ctx, SignIn{Username: "ola@example.no", Password: "another-password"}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("the duplicate's password works: %v", err)
	}
	// Operator usernames cannot be taken over either.
	if dup, err := s.SignUp(ctx, with(func(in *SignUp) { in.Email = "op@x.no" })); err != nil || dup.Duplicate {
		t.Errorf("a new email: %+v %v", dup, err)
	}
}

func TestSignUp_LimitedPerAddress(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, _ := newService(t, Options{Now: clock.Now, SignUpLimit: &throttle.Policy{Free: 1, Base: time.Minute, Max: time.Hour, Forget: time.Hour}})
	ctx := context.Background()
	in := func(i int, from string) SignUp {
		return SignUp{Name: "N", Email: string(rune('a'+i)) + "x@example.no", Organisation: "Org " + string(rune('a'+i)), Password: "a-password", From: from}
	}
	for i := range 2 {
		if _, err := s.SignUp(ctx, in(i, "192.0.2.9:1")); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	var te *ThrottledError
	if _, err := s.SignUp(ctx, in(2, "192.0.2.9:2")); !errors.As(err, &te) {
		t.Fatalf("third sign-up from one address: %v, want throttled", err)
	}
	// Invalid sign-ups count too, and another address is not held.
	if _, err := s.SignUp(ctx, in(3, "198.51.100.1:1")); err != nil {
		t.Errorf("another address: %v", err)
	}
	clock.Advance(time.Minute)
	if _, err := s.SignUp(ctx, in(4, "192.0.2.9:3")); err != nil {
		t.Errorf("after the wait: %v", err)
	}
}

func TestSupplierID(t *testing.T) {
	for in, want := range map[string]string{
		"Fjord Helse AS": "fjord-helse-as", "  Ærlig Øye Å ": "aerlig-oye-a", "a--b": "a-b", "!!": "",
		"Very long organisation name that goes on and on": "very-long-organisation-name-that-goes-on",
	} {
		if got := supplierID(in); got != want {
			t.Errorf("supplierID(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzSignUpInput: the sign-up form's email and organisation never panic,
// and a supplier id made of an organisation's name is "" or of the
// characters supplier ids allow, with no hyphen at either end.
func FuzzSignUpInput(f *testing.F) {
	f.Add("kari@example.no", "Fjord Helse AS")
	f.Add("a <b@c>", "ÆØÅ---!!")
	f.Add("\x00@\xff", "-")
	f.Fuzz(func(t *testing.T, email, org string) {
		_ = validEmail(email)
		id := supplierID(org)
		if len(id) > 40 || strings.HasPrefix(id, "-") || strings.HasSuffix(id, "-") || strings.Contains(id, "--") {
			t.Fatalf("supplierID(%q) = %q", org, id)
		}
		for _, r := range id {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				t.Fatalf("supplierID(%q) = %q", org, id)
			}
		}
	})
}
