// Package tenanttest is the behavioural suite every tenant.Registry must
// pass: a backend's test calls Run with a factory for fresh registries.
// Adding a backend (PostgreSQL, say) means making this suite pass.
//
// It tests storage only: what the Service's rules allow is tested in
// package tenant.
package tenanttest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"hpsandbox/sandbox/tenant"
)

// Factory returns a new, empty registry. The factory arranges its closing
// with t.Cleanup.
type Factory func(t *testing.T) tenant.Registry

// Run runs the whole suite.
func Run(t *testing.T, newRegistry Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, r tenant.Registry)
	}{
		{"Sandbox_RoundTripsEveryField", testSandboxRoundTrip},
		{"Sandbox_TakenID_ErrExists", testSandboxExists},
		{"Sandbox_Missing_ErrNotFound", testSandboxMissing},
		{"Sandboxes_BySupplier_InOrderOfID", testSandboxesBySupplier},
		{"UpdateSandbox_KeepsSupplierAndCreated", testUpdateSandbox},
		{"DeleteSandbox_RemovesItsAppsAndTokensOnly", testDeleteSandbox},
		{"App_RoundTripsWithSecretHash", testAppRoundTrip},
		{"App_TakenClientID_ErrExistsInAnySandbox", testAppExists},
		{"App_OfMissingSandbox_Fails", testAppMissingSandbox},
		{"Apps_OfSandbox_InOrderOfClientID", testAppsOfSandbox},
		{"DeleteApp_OnlyFromItsSandbox", testDeleteApp},
		{"Account_RoundTripsWithPasswordHash", testAccountRoundTrip},
		{"Account_TakenUsernameOrIdentity_ErrExists", testAccountExists},
		{"AccountByOIDC_IssuerTrailingSlashIsSameIssuer", testAccountByOIDC},
		{"UpdateAccount_WritesOrRefuses", testUpdateAccount},
		{"DeleteAccount_RemovesOnlyIt", testDeleteAccount},
		{"RegistrationToken_RoundTripsUnused", testTokenRoundTrip},
		{"RegistrationToken_TakenIDOrHash_ErrExists", testTokenExists},
		{"RegistrationTokens_OfSandbox_NewestFirst", testTokensOfSandbox},
		{"UseRegistrationToken_CountsOnlyValidUses", testUseToken},
		{"UseRegistrationToken_Concurrent_NeverExceedsMaxUses", testUseTokenConcurrent},
		{"DeleteRegistrationToken_OnlyFromItsSandbox", testDeleteToken},
		{"TestRequest_RoundTripsEveryField", testRequestRoundTrip},
		{"TestRequests_BySupplier_NewestFirst", testRequestsBySupplier},
		{"UpdateTestRequest_OnlyOverTheVersionRead", testUpdateRequestVersion},
		{"UpdateTestRequest_SealsOnce_AndOutlivesTheSandbox", testSealOnce},
		{"Create_ConcurrentSameKey_OneWinsOthersErrExists", testConcurrentCreates},
		{"UpdateTestRequest_ConcurrentFromOneVersion_OneWins", testConcurrentUpdates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newRegistry(t)) })
	}
}

// t0 is a time the registry keeps exactly: UTC, whole milliseconds.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123_000_000, time.UTC)

func sandbox(id, supplier string) *tenant.Sandbox {
	return &tenant.Sandbox{ID: id, Name: "Sandbox " + id, Supplier: supplier,
		Settings:     tenant.Settings{Secured: true, SkipConsent: true, AccessTokenSeconds: 600, DynamicRegistration: true, RegistrationScopes: "system/*.rs"},
		SeedPatients: 25, Seed: 7, Created: t0, ResetAt: t0.Add(time.Minute)}
}

func app(sandbox, clientID string) *tenant.App {
	return &tenant.App{ClientID: clientID, Sandbox: sandbox, Name: "App " + clientID, Type: "confidential-symmetric",
		RedirectURIs: []string{"https://app.example/cb"}, LaunchURL: "https://app.example/launch", Scopes: "launch patient/*.rs",
		Dynamic: true, RegistrationToken: "tok", Created: t0, SecretHash: []byte("hash of " + clientID)}
}

func token(sandbox, id string, maxUses int) *tenant.RegistrationToken {
	return &tenant.RegistrationToken{ID: id, Sandbox: sandbox, Description: "CI", CreatedBy: "op",
		Created: t0, Expires: t0.Add(time.Hour), MaxUses: maxUses}
}

func account(username string) *tenant.Account {
	return &tenant.Account{Username: username, Name: "Name of " + username, Role: tenant.RoleSupplier, Supplier: "acme",
		Created: t0, PasswordHash: []byte("hash of " + username)}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testSandboxRoundTrip(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	want := sandbox("acme-dev", "acme")
	must(t, r.CreateSandbox(ctx, want))
	got, err := r.Sandbox(ctx, "acme-dev")
	must(t, err)
	same(t, "read back", got, want)
	empty := &tenant.Sandbox{ID: "empty", Name: "E", SeedPatients: -1}
	must(t, r.CreateSandbox(ctx, empty))
	got, err = r.Sandbox(ctx, "empty")
	must(t, err)
	same(t, "zero times and no supplier", got, empty)
}

func testSandboxExists(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	wantErr(t, "same id, other supplier", r.CreateSandbox(ctx, sandbox("a", "bravo")), tenant.ErrExists)
	got, err := r.Sandbox(ctx, "a")
	must(t, err)
	same(t, "the first stays", got, sandbox("a", "acme"))
}

func testSandboxMissing(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	_, err := r.Sandbox(ctx, "nope")
	wantErr(t, "Sandbox", err, tenant.ErrNotFound)
	wantErr(t, "UpdateSandbox", r.UpdateSandbox(ctx, sandbox("nope", "")), tenant.ErrNotFound)
	if err := r.DeleteSandbox(ctx, "nope"); err != nil {
		t.Errorf("DeleteSandbox of a missing sandbox: %v", err)
	}
}

func ids(sbs []*tenant.Sandbox) []string {
	out := []string{}
	for _, sb := range sbs {
		out = append(out, sb.ID)
	}
	return out
}

func testSandboxesBySupplier(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	for _, sb := range []*tenant.Sandbox{sandbox("b2", "bravo"), sandbox("a2", "acme"), sandbox("default", ""), sandbox("a1", "acme")} {
		must(t, r.CreateSandbox(ctx, sb))
	}
	for supplier, want := range map[string][]string{
		"":        {"a1", "a2", "b2", "default"},
		"acme":    {"a1", "a2"},
		"bravo":   {"b2"},
		"charlie": {},
	} {
		got, err := r.Sandboxes(ctx, supplier)
		must(t, err)
		same(t, "sandboxes of "+supplier, ids(got), want)
	}
	all, err := r.Sandboxes(ctx, "")
	must(t, err)
	same(t, "listed sandbox", all[0], sandbox("a1", "acme"))
}

func testUpdateSandbox(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	upd := &tenant.Sandbox{ID: "a", Name: "Renamed", Supplier: "bravo", Settings: tenant.Settings{SkipLogin: true},
		SeedPatients: -1, Seed: 9, Created: t0.Add(time.Hour), ResetAt: t0.Add(2 * time.Hour)}
	must(t, r.UpdateSandbox(ctx, upd))
	got, err := r.Sandbox(ctx, "a")
	must(t, err)
	want := *upd
	want.Supplier, want.Created = "acme", t0
	same(t, "updated", got, &want)
}

func testDeleteSandbox(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	for _, id := range []string{"gone", "kept"} {
		must(t, r.CreateSandbox(ctx, sandbox(id, "acme")))
		must(t, r.CreateApp(ctx, app(id, "app-"+id)))
		must(t, r.CreateRegistrationToken(ctx, token(id, "tok-"+id, 0), []byte("secret-"+id)))
	}
	must(t, r.DeleteSandbox(ctx, "gone"))
	_, err := r.Sandbox(ctx, "gone")
	wantErr(t, "deleted sandbox", err, tenant.ErrNotFound)
	_, err = r.App(ctx, "app-gone")
	wantErr(t, "its app", err, tenant.ErrNotFound)
	_, err = r.RegistrationTokenByHash(ctx, []byte("secret-gone"))
	wantErr(t, "its token", err, tenant.ErrNotFound)
	if apps, err := r.Apps(ctx, "gone"); err != nil || len(apps) != 0 {
		t.Errorf("apps of the deleted sandbox: %v, %v", apps, err)
	}
	if _, err := r.Sandbox(ctx, "kept"); err != nil {
		t.Errorf("other sandbox: %v", err)
	}
	if _, err := r.App(ctx, "app-kept"); err != nil {
		t.Errorf("other sandbox's app: %v", err)
	}
	if _, err := r.RegistrationTokenByHash(ctx, []byte("secret-kept")); err != nil {
		t.Errorf("other sandbox's token: %v", err)
	}
	// The id is free again, and the new sandbox starts without apps.
	must(t, r.CreateSandbox(ctx, sandbox("gone", "bravo")))
	if apps, err := r.Apps(ctx, "gone"); err != nil || len(apps) != 0 {
		t.Errorf("apps of the recreated sandbox: %v, %v", apps, err)
	}
}
