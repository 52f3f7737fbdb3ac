package tenant_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/sandbox/tenant"
	"hpsandbox/sandbox/tenant/tenanttest"
)

func TestSQLiteRegistry_File(t *testing.T) {
	tenanttest.Run(t, func(t *testing.T) tenant.Registry {
		r, err := tenant.OpenSQLiteRegistry(context.Background(), filepath.Join(t.TempDir(), tenant.FileName))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	})
}

func TestSQLiteRegistry_InMemory(t *testing.T) {
	tenanttest.Run(t, func(t *testing.T) tenant.Registry {
		r, err := tenant.OpenSQLiteRegistry(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	})
}

// The hashes are exported for the Registry's backends, not for answers:
// the admin API and the portal marshal accounts and apps as they are.
func TestHashes_NeverMarshalled(t *testing.T) {
	for name, v := range map[string]any{
		"account": &tenant.Account{Username: "alice", PasswordHash: []byte("SECRET-HASH")},
		"app":     &tenant.App{ClientID: "app", SecretHash: []byte("SECRET-HASH")},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(b); strings.Contains(s, "SECRET") || strings.Contains(s, base64.StdEncoding.EncodeToString([]byte("SECRET-HASH"))) || strings.Contains(strings.ToLower(s), "hash") {
			t.Errorf("%s marshals its hash: %s", name, s)
		}
	}
}
