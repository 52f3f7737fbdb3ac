package portal

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"hpsandbox/sandbox/tenant"
)

// TestSupplier_OtherSuppliersSandbox_AnswersAsIfItDidNotExist: every page
// and action of supplier B's sandbox gives supplier A the very page a
// sandbox that does not exist gives, and changes nothing.
func TestSupplier_OtherSuppliersSandbox_AnswersAsIfItDidNotExist(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	bobToken, _, err := e.tenants.IssueRegistrationToken(context.Background(), e.account(t, bobUser), bravoSandbox, tenant.NewRegistrationToken{})
	if err != nil {
		t.Fatal(err)
	}
	before := e.bravoState(t)
	bobApp := e.bravoApp.ClientID
	requests := []struct {
		name, method, path string
		form               url.Values
	}{
		{"sandbox page", "GET", "/portal/sandboxes/{sb}", nil},
		{"register form", "GET", "/portal/sandboxes/{sb}/apps/new", nil},
		{"app page", "GET", "/portal/sandboxes/{sb}/apps/" + bobApp, nil},
		{"launch picker", "GET", "/portal/sandboxes/{sb}/apps/" + bobApp + "/launch", nil},
		{"launch encounter step", "GET", "/portal/sandboxes/{sb}/apps/" + bobApp + "/launch?patient=" + persona, nil},
		{"launch start", "GET", "/portal/sandboxes/{sb}/apps/" + bobApp + "/launch/start?patient=" + persona, nil},
		{"patients", "GET", "/portal/sandboxes/{sb}/patients", nil},
		{"patient", "GET", "/portal/sandboxes/{sb}/patients/" + persona, nil},
		{"request log", "GET", "/portal/sandboxes/{sb}/requests?client=" + bobApp, nil},
		{"settings", "POST", "/portal/sandboxes/{sb}/settings", url.Values{"name": {"Taken over"}, "access_token_seconds": {"abc"}}},
		{"reset", "POST", "/portal/sandboxes/{sb}/reset", nil},
		{"delete", "POST", "/portal/sandboxes/{sb}/delete", nil},
		{"register app", "POST", "/portal/sandboxes/{sb}/apps", url.Values{"name": {"Intruder"}, "type": {"public"}, "redirect_uris": {"https://x.example/cb"}}},
		{"register invalid app", "POST", "/portal/sandboxes/{sb}/apps", url.Values{"name": {""}, "type": {"bogus"}}},
		{"delete app", "POST", "/portal/sandboxes/{sb}/apps/" + bobApp + "/delete", nil},
		{"issue an initial access token", "POST", "/portal/sandboxes/{sb}/registration-tokens", url.Values{"max_uses": {"0"}}},
		{"issue a bad initial access token", "POST", "/portal/sandboxes/{sb}/registration-tokens", url.Values{"hours": {"x"}}},
		{"revoke an initial access token", "POST", "/portal/sandboxes/{sb}/registration-tokens/" + bobToken.ID + "/revoke", nil},
	}
	for _, r := range requests {
		t.Run(r.name, func(t *testing.T) {
			do := func(sb string) page {
				path := strings.ReplaceAll(r.path, "{sb}", sb)
				if r.method == "POST" {
					form := url.Values{}
					for k, v := range r.form {
						form[k] = v
					}
					return alice.post(path, form)
				}
				return alice.get(path)
			}
			other, missing := do(bravoSandbox), do("no-such-sandbox")
			wantStatus(t, "B's sandbox", other, http.StatusNotFound)
			wantStatus(t, "a missing sandbox", missing, http.StatusNotFound)
			if other.body != missing.body {
				t.Errorf("B's sandbox and a missing one answer differently:\n%s\n---\n%s", excerpt(other.body), excerpt(missing.body))
			}
			wantLacks(t, "B's sandbox", other, "bravo", "Bob", bobApp)
		})
	}
	// B's app addressed through A's own sandbox is not found either.
	other := alice.get("/portal/sandboxes/" + acmeSandbox + "/apps/" + bobApp)
	missing := alice.get("/portal/sandboxes/" + acmeSandbox + "/apps/app-nosuchapp")
	wantStatus(t, "B's app under A's sandbox", other, http.StatusNotFound)
	if other.body != missing.body {
		t.Error("B's app under A's sandbox answers differently from a missing app")
	}
	wantStatus(t, "launching B's app from A's sandbox",
		alice.get("/portal/sandboxes/"+acmeSandbox+"/apps/"+bobApp+"/launch/start?patient="+persona), http.StatusNotFound)
	if after := e.bravoState(t); !reflect.DeepEqual(after, before) {
		t.Errorf("B's sandbox changed: %+v, was %+v", after, before)
	}
}

// bravoState is what the refused requests must not change.
type sandboxState struct {
	Name     string
	ResetAt  string
	Settings tenant.Settings
	Apps     int
	Tokens   int
}

func (e *env) bravoState(t *testing.T) sandboxState {
	t.Helper()
	ctx := context.Background()
	sb, err := e.tenants.Sandbox(ctx, bravoSandbox)
	if err != nil {
		t.Fatalf("B's sandbox: %v", err)
	}
	apps, err := e.tenants.Apps(ctx, e.account(t, opUser), bravoSandbox)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := e.tenants.RegistrationTokens(ctx, e.account(t, opUser), bravoSandbox)
	if err != nil {
		t.Fatal(err)
	}
	return sandboxState{Name: sb.Name, ResetAt: sb.ResetAt.String(), Settings: sb.Settings, Apps: len(apps), Tokens: len(tokens)}
}

// TestReviewer_SeesEverything_ChangesNothing: a reviewer's POSTs are
// refused with 403 and leave everything as it was.
func TestReviewer_SeesEverything_ChangesNothing(t *testing.T) {
	e := newEnv(t, nil)
	rev := e.signedIn(t, revUser)
	bobToken, _, err := e.tenants.IssueRegistrationToken(context.Background(), e.account(t, bobUser), bravoSandbox, tenant.NewRegistrationToken{})
	if err != nil {
		t.Fatal(err)
	}
	before := e.bravoState(t)
	sb := "/portal/sandboxes/" + bravoSandbox
	posts := []struct {
		name, path string
		form       url.Values
	}{
		{"create sandbox", "/portal/sandboxes", url.Values{"name": {"Reviewer's"}, "supplier": {"bravo"}, "seed_patients": {"0"}}},
		{"settings", sb + "/settings", url.Values{"name": {"Renamed"}}},
		{"settings with a bad number", sb + "/settings", url.Values{"name": {"Renamed"}, "access_token_seconds": {"x"}}},
		{"reset", sb + "/reset", nil},
		{"delete", sb + "/delete", nil},
		{"register app", sb + "/apps", url.Values{"name": {"Reviewer app"}, "type": {"public"}, "redirect_uris": {"https://r.example/cb"}}},
		{"delete app", sb + "/apps/" + e.bravoApp.ClientID + "/delete", nil},
		{"issue an initial access token", sb + "/registration-tokens", url.Values{"max_uses": {"0"}}},
		{"revoke an initial access token", sb + "/registration-tokens/" + bobToken.ID + "/revoke", nil},
		{"create account", "/portal/accounts", url.Values{"username": {"rev-made"}, "role": {"operator"}, "password": {"reviewer-made-pw"}}},
		{"delete account", "/portal/accounts/bob/delete", nil},
	}
	for _, p := range posts {
		t.Run(p.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range p.form {
				form[k] = v
			}
			wantStatus(t, p.path, rev.post(p.path, form), http.StatusForbidden)
		})
	}
	if after := e.bravoState(t); !reflect.DeepEqual(after, before) {
		t.Errorf("the sandbox changed: %+v, was %+v", after, before)
	}
	for _, user := range []string{"rev-made", bobUser} {
		_, err := e.tenants.Account(context.Background(), user)
		if (err == nil) != (user == bobUser) {
			t.Errorf("account %s after the reviewer's posts: %v", user, err)
		}
	}
	sbs, _ := e.tenants.Sandboxes(context.Background(), e.account(t, opUser))
	for _, s := range sbs {
		if s.Name == "Reviewer's" {
			t.Error("the reviewer created a sandbox")
		}
	}
}

// TestCSRF_PostWithoutTheSessionsToken_RefusedAndChangesNothing.
func TestCSRF_PostWithoutTheSessionsToken_RefusedAndChangesNothing(t *testing.T) {
	e := newEnv(t, nil)
	alice, bob := e.signedIn(t, aliceUser), e.signedIn(t, bobUser)
	anon := e.browser(t)
	anon.get("/portal/login")
	settings := "/portal/sandboxes/" + acmeSandbox + "/settings"
	unchanged := url.Values{"name": {"Sandbox " + acmeSandbox}, "secured": {"on"}, "dynamic_registration": {"on"}}
	tests := []struct {
		name  string
		token []string // nil: no csrf field at all
	}{
		{"no token", nil},
		{"empty token", []string{""}},
		{"wrong token", []string{"bm90LXRoZS10b2tlbg"}},
		{"another account's token", []string{bob.csrf}},
		{"an anonymous session's token", []string{anon.csrf}},
		{"token twice, wrong first", []string{"x", alice.csrf}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"name": {"Changed by a forged form"}}
			form[csrfField] = tt.token
			if tt.token == nil {
				form[csrfField] = []string{} // present but empty list: post leaves it out
			}
			got := alice.post(settings, form)
			wantStatus(t, "forged settings", got, http.StatusForbidden)
			wantContains(t, "refusal", got, "Form refused")
		})
	}
	sb, err := e.tenants.Sandbox(context.Background(), acmeSandbox)
	if err != nil || sb.Name != "Sandbox "+acmeSandbox {
		t.Fatalf("after forged forms: %v, name %q", err, sb.Name)
	}
	// Sign-in and sign-out forms are checked too.
	wantStatus(t, "sign-in without token", anon.post("/portal/login", url.Values{
		"username": {aliceUser}, "password": {alicePass}, csrfField: {"forged"}}), http.StatusForbidden)
	wantStatus(t, "sign-out without token", alice.post("/portal/logout", url.Values{csrfField: {""}}), http.StatusForbidden)
	wantStatus(t, "still signed in", alice.get("/portal/"), http.StatusOK)
	// The real token works.
	got := alice.post(settings, unchanged)
	if got.status != http.StatusSeeOther {
		t.Fatalf("settings with the session's token: %d\n%s", got.status, excerpt(got.body))
	}
}

func TestForms_OversizedBodyRefused(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.signedIn(t, aliceUser)
	got := alice.post("/portal/sandboxes/"+acmeSandbox+"/apps", url.Values{"name": {"Huge"}, "type": {"public"},
		"redirect_uris": {"https://huge.example/cb"}, "scopes": {strings.Repeat("patient/*.rs ", maxFormBytes/12)}})
	wantStatus(t, "oversized form", got, http.StatusForbidden)
	apps, err := e.tenants.Apps(context.Background(), e.account(t, aliceUser), acmeSandbox)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.Name == "Huge" {
			t.Error("an oversized form registered an app")
		}
	}
}
