package tenant

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestConnectorSettings_SurviveARestartAndOtherSettingsChanges: a
// connector's settings are kept with the sandbox's, in the registry file;
// changing the sandbox's own settings leaves them.
func TestConnectorSettings_SurviveARestartAndOtherSettingsChanges(t *testing.T) {
	dir := t.TempDir()
	s, store := newService(t, Options{Path: dir + "/" + FileName})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "acme-dev", Name: "A", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	if b, err := s.ConnectorSettings(ctx, "acme-dev", "vkp"); err != nil || b != nil {
		t.Fatalf("settings before any: %s, %v", b, err)
	}
	if err := s.SetConnectorSettings(ctx, "acme-dev", "vkp", []byte(`{"throttle_every":3}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetConnectorSettings(ctx, "acme-dev", "vkp", []byte(`{"throttle_every`)); err == nil {
		t.Fatal("settings that are not JSON were kept")
	}
	if err := s.SetConnectorSettings(ctx, "no-such", "vkp", []byte(`{}`)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("settings of a sandbox that is not there: %v", err)
	}
	if _, err := s.UpdateSandbox(ctx, supplierA, "acme-dev", nil, &Settings{Secured: true, SkipLogin: true}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, Options{Path: dir + "/" + FileName, Store: store, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	b, err := s2.ConnectorSettings(ctx, "acme-dev", "vkp")
	if err != nil || string(b) != `{"throttle_every":3}` {
		t.Fatalf("after a restart: %s, %v", b, err)
	}
	if sb, _ := s2.Sandbox(ctx, "acme-dev"); !sb.Settings.SkipLogin {
		t.Error("the sandbox's own settings were lost")
	}
}
