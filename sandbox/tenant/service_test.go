package tenant

import (
	"context"
	"errors"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

func TestSandboxes_EachRoleSeesWhatItMay(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	for _, req := range []struct {
		who *Account
		id  string
	}{{supplierA, "acme-dev"}, {supplierB, "bravo-dev"}} {
		if _, err := s.CreateSandbox(ctx, req.who, NewSandbox{ID: req.id, Name: req.id, SeedPatients: intp(-1)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		who  *Account
		list []string
	}{
		{operator, []string{"acme-dev", "bravo-dev", "default"}},
		{reviewer, []string{"acme-dev", "bravo-dev", "default"}},
		{supplierA, []string{"acme-dev"}},
		{supplierB, []string{"bravo-dev"}},
		{&Account{Username: "x", Role: RoleSupplier}, nil},
	}
	for _, tt := range tests {
		got, err := s.Sandboxes(ctx, tt.who)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, sb := range got {
			ids = append(ids, sb.ID)
		}
		if strings.Join(ids, ",") != strings.Join(tt.list, ",") {
			t.Errorf("%s lists %v, want %v", tt.who.Username, ids, tt.list)
		}
	}
	// Another supplier's sandbox does not exist for a supplier, whatever it does.
	if _, err := s.SandboxFor(ctx, supplierA, "bravo-dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("supplier A reads B's sandbox: %v, want ErrNotFound", err)
	}
	if _, err := s.ResetSandbox(ctx, supplierA, "bravo-dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("supplier A resets B's sandbox: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSandbox(ctx, supplierA, "bravo-dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("supplier A deletes B's sandbox: %v, want ErrNotFound", err)
	}
	if _, _, err := s.RegisterApp(ctx, supplierA, "bravo-dev", NewApp{Name: "x", Type: "public", RedirectURIs: []string{"https://a.example/cb"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("supplier A registers an app in B's sandbox: %v, want ErrNotFound", err)
	}
	if _, err := s.Apps(ctx, supplierA, "bravo-dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("supplier A lists B's apps: %v, want ErrNotFound", err)
	}
	// A reviewer sees and changes nothing.
	if _, err := s.SandboxFor(ctx, reviewer, "bravo-dev"); err != nil {
		t.Errorf("reviewer reads a sandbox: %v", err)
	}
	if _, err := s.ResetSandbox(ctx, reviewer, "bravo-dev"); !errors.Is(err, ErrForbidden) {
		t.Errorf("reviewer resets: %v, want ErrForbidden", err)
	}
	if _, err := s.CreateSandbox(ctx, reviewer, NewSandbox{Name: "r"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("reviewer creates: %v, want ErrForbidden", err)
	}
	// Suppliers cannot touch the default sandbox; nobody deletes it.
	if err := s.DeleteSandbox(ctx, operator, fhirstore.DefaultSandbox); !errors.Is(err, ErrForbidden) {
		t.Errorf("deleting the default sandbox: %v, want ErrForbidden", err)
	}
	if _, err := s.ResetSandbox(ctx, supplierA, fhirstore.DefaultSandbox); !errors.Is(err, ErrNotFound) {
		t.Errorf("supplier resets the default sandbox: %v, want ErrNotFound", err)
	}
}

func TestCreateSandbox_ValidatesRequest(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	tests := []struct {
		name  string
		who   *Account
		req   NewSandbox
		field string
	}{
		{"id with capitals", supplierA, NewSandbox{ID: "Acme", Name: "a"}, "id"},
		{"id too short", supplierA, NewSandbox{ID: "a", Name: "a"}, "id"},
		{"id with slash", supplierA, NewSandbox{ID: "a/b", Name: "a"}, "id"},
		{"too many patients", supplierA, NewSandbox{Name: "a", SeedPatients: intp(MaxSeedPatients + 1)}, "seed_patients"},
		{"negative patients", supplierA, NewSandbox{Name: "a", SeedPatients: intp(-2)}, "seed_patients"},
		{"supplier for another", supplierA, NewSandbox{Name: "a", Supplier: "bravo"}, "supplier"},
		{"operator without supplier", operator, NewSandbox{Name: "a"}, "supplier"},
		{"short token lifetime", supplierA, NewSandbox{Name: "a", Settings: &Settings{AccessTokenSeconds: 5}}, "settings.access_token_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateSandbox(ctx, tt.who, tt.req)
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("err = %v, want an InvalidError of %s", err, tt.field)
			}
		})
	}
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "default", Name: "x"}); !errors.Is(err, ErrExists) {
		t.Errorf("creating %q: %v, want ErrExists", "default", err)
	}
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "twice", Name: "x", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSandbox(ctx, supplierB, NewSandbox{ID: "twice", Name: "x", SeedPatients: intp(-1)}); !errors.Is(err, ErrExists) {
		t.Errorf("creating a taken id: %v, want ErrExists", err)
	}
}

func TestResetSandbox_ReturnsDataToTheSeed(t *testing.T) {
	var erased []string
	s, store := newService(t, Options{OnErase: func(_ context.Context, sb string) { erased = append(erased, sb) }})
	ctx := context.Background()
	sb, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "acme-dev", Name: "Dev", SeedPatients: intp(3)})
	if err != nil {
		t.Fatal(err)
	}
	seeded := count(t, store, sb.ID, "Patient")
	if seeded < 4 {
		t.Fatalf("seeded %d patients, want the personas and 3 more", seeded)
	}
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"written","name":[{"family":"Skrevet"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Update(ctx, fhirstore.Sandbox(sb.ID), r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Update(ctx, "bystander", r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := sb.ResetAt
	sb, err = s.ResetSandbox(ctx, supplierA, sb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Read(ctx, fhirstore.Sandbox(sb.ID), "Patient", "written"); !errors.Is(err, fhirstore.ErrNotFound) {
		t.Errorf("a resource written before the reset: %v, want ErrNotFound", err)
	}
	if got := count(t, store, sb.ID, "Patient"); got != seeded {
		t.Errorf("%d patients after reset, want the %d seeded", got, seeded)
	}
	if _, err := store.Read(ctx, "bystander", "Patient", "written"); err != nil {
		t.Errorf("another sandbox's resource after the reset: %v", err)
	}
	if sb.ResetAt.Before(before) {
		t.Errorf("ResetAt went back: %v < %v", sb.ResetAt, before)
	}
	if len(erased) != 2 || erased[1] != sb.ID {
		t.Errorf("OnErase calls %v, want one on create and one on reset", erased)
	}
}

func TestDeleteSandbox_RemovesDataAndApps(t *testing.T) {
	s, store := newService(t, Options{})
	ctx := context.Background()
	sb, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "gone", Name: "Gone", SeedPatients: intp(-1)})
	if err != nil {
		t.Fatal(err)
	}
	r, err := fhirjson.Parse([]byte(`{"resourceType":"Patient","id":"p","name":[{"family":"Borte"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := store.Update(ctx, fhirstore.Sandbox(sb.ID), r, fhirstore.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	app, _, err := s.RegisterApp(ctx, supplierA, sb.ID, NewApp{Name: "App", Type: "public", RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSandbox(ctx, supplierA, sb.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, store, sb.ID, ""); n != 0 {
		t.Errorf("%d versions left after delete", n)
	}
	if _, err := s.Sandbox(ctx, sb.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("sandbox after delete: %v", err)
	}
	if _, err := s.Clients().Client(ctx, app.ClientID); err == nil {
		t.Error("the deleted sandbox's app still authenticates")
	}
	// The id is free again and the new sandbox starts clean.
	if _, err := s.CreateSandbox(ctx, supplierB, NewSandbox{ID: "gone", Name: "Again", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	if apps, _ := s.Apps(ctx, supplierB, "gone"); len(apps) != 0 {
		t.Errorf("a new sandbox of a deleted one's id has %d apps", len(apps))
	}
}

func TestRegistry_SurvivesReopen(t *testing.T) {
	s, store := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "kept", Name: "Kept", SeedPatients: intp(-1),
		Settings: &Settings{SkipLogin: true, AccessTokenSeconds: 600}}); err != nil {
		t.Fatal(err)
	}
	app, _, err := s.RegisterApp(ctx, supplierA, "kept", NewApp{Name: "App", Type: "public", RedirectURIs: []string{"https://app.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	path := s.reg.(*SQLRegistry).path
	s.Close()
	s2, err := Open(ctx, Options{Path: path, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	sb, err := s2.Sandbox(ctx, "kept")
	if err != nil || !sb.Settings.SkipLogin || sb.Settings.AccessTokenSeconds != 600 || sb.Supplier != "acme" {
		t.Fatalf("reopened sandbox %+v, %v", sb, err)
	}
	if _, err := s2.Clients().Client(ctx, app.ClientID); err != nil {
		t.Errorf("reopened app: %v", err)
	}
}

func TestOpen_WithRegistry_KeepsEverythingThere(t *testing.T) {
	ctx := context.Background()
	reg, err := OpenSQLiteRegistry(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newService(t, Options{Registry: reg})
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "given", Name: "Given", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{fhirstore.DefaultSandbox, "given"} {
		if _, err := reg.Sandbox(ctx, id); err != nil {
			t.Errorf("sandbox %s is not in the given registry: %v", id, err)
		}
	}
	if s.reg != Registry(reg) {
		t.Error("the service opened a registry of its own")
	}
}
