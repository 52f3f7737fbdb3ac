package tenanttest

import (
	"context"
	"testing"

	"hpsandbox/sandbox/tenant"
)

func testAppRoundTrip(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	want := app("a", "app-1")
	want.JWKS = []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"x","y":"y"}]}`)
	want.JWKSURL = "https://app.example/jwks"
	must(t, r.CreateApp(ctx, want))
	got, err := r.App(ctx, "app-1")
	must(t, err)
	same(t, "read back", got, want)
	public := &tenant.App{ClientID: "app-2", Sandbox: "a", Name: "Public", Type: "public", Created: t0}
	must(t, r.CreateApp(ctx, public))
	got, err = r.App(ctx, "app-2")
	must(t, err)
	same(t, "without secret", got, public)
}

func testAppExists(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	must(t, r.CreateSandbox(ctx, sandbox("b", "bravo")))
	must(t, r.CreateApp(ctx, app("a", "app-1")))
	wantErr(t, "same sandbox", r.CreateApp(ctx, app("a", "app-1")), tenant.ErrExists)
	wantErr(t, "other sandbox", r.CreateApp(ctx, app("b", "app-1")), tenant.ErrExists)
	got, err := r.App(ctx, "app-1")
	must(t, err)
	same(t, "the first stays", got, app("a", "app-1"))
}

func testAppMissingSandbox(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	if err := r.CreateApp(ctx, app("nope", "app-1")); err == nil {
		t.Error("CreateApp in a missing sandbox succeeded")
	}
	_, err := r.App(ctx, "app-1")
	wantErr(t, "App", err, tenant.ErrNotFound)
}

func testAppsOfSandbox(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	must(t, r.CreateSandbox(ctx, sandbox("b", "bravo")))
	for _, a := range []*tenant.App{app("a", "z"), app("b", "m"), app("a", "c")} {
		must(t, r.CreateApp(ctx, a))
	}
	got, err := r.Apps(ctx, "a")
	must(t, err)
	same(t, "apps of a", got, []*tenant.App{app("a", "c"), app("a", "z")})
	got, err = r.Apps(ctx, "b")
	must(t, err)
	same(t, "apps of b", got, []*tenant.App{app("b", "m")})
	if got, err := r.Apps(ctx, "nope"); err != nil || len(got) != 0 {
		t.Errorf("apps of a missing sandbox: %v, %v", got, err)
	}
}

func testDeleteApp(t *testing.T, r tenant.Registry) {
	ctx := context.Background()
	must(t, r.CreateSandbox(ctx, sandbox("a", "acme")))
	must(t, r.CreateSandbox(ctx, sandbox("b", "bravo")))
	must(t, r.CreateApp(ctx, app("a", "app-1")))
	must(t, r.CreateApp(ctx, app("a", "app-2")))
	wantErr(t, "from another sandbox", r.DeleteApp(ctx, "b", "app-1"), tenant.ErrNotFound)
	if _, err := r.App(ctx, "app-1"); err != nil {
		t.Fatalf("deleting from another sandbox removed the app: %v", err)
	}
	must(t, r.DeleteApp(ctx, "a", "app-1"))
	_, err := r.App(ctx, "app-1")
	wantErr(t, "deleted app", err, tenant.ErrNotFound)
	wantErr(t, "deleted twice", r.DeleteApp(ctx, "a", "app-1"), tenant.ErrNotFound)
	got, err := r.Apps(ctx, "a")
	must(t, err)
	same(t, "the other app stays", got, []*tenant.App{app("a", "app-2")})
}
