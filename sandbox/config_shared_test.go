package sandbox

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func TestConfig_PortalSessionKeyFromEnv(t *testing.T) {
	key := strings.Repeat("k", 32)
	for _, tc := range []struct {
		name, env string
		want      string // "" for an error
	}{
		{"standard base64", base64.StdEncoding.EncodeToString([]byte(key)), key},
		{"url-safe base64 without padding", base64.RawURLEncoding.EncodeToString([]byte(key + "\xff")), key + "\xff"},
		{"too short", base64.StdEncoding.EncodeToString([]byte("short")), ""},
		{"not base64", "this is not base64 at all!!", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			if err := c.LoadEnv(func(k string) string {
				if k == "HPS_PORTAL_SESSION_KEY" {
					return tc.env
				}
				return ""
			}); err != nil {
				t.Fatal(err)
			}
			err := c.Validate()
			b, _ := c.SessionKey()
			switch {
			case tc.want == "" && (err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32")):
				t.Errorf("Validate: %v, want an error saying how to make a key", err)
			case tc.want != "" && (err != nil || string(b) != tc.want):
				t.Errorf("Validate: %v, key %q", err, b)
			}
		})
	}
}

// Two gateways given one signing key file and one session key (but each
// its own data directory) publish one JWKS: whichever starts first makes
// the key.
func TestOpen_SharedSigningKeyFileGivesOneJWKS(t *testing.T) {
	shared := filepath.Join(t.TempDir(), "keys", "signing.pem")
	var jwks []string
	for range 2 {
		cfg := Defaults()
		cfg.DataDir = t.TempDir()
		cfg.SigningKeyFile = shared
		cfg.RequestLogMax = 0
		cfg.SeedPatients = -1
		cfg.OperatorPassword = "operator-password"
		cfg.PortalSessionKey = base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", 32)))
		store, err := sqlite.Open(context.Background(), cfg.DataDir, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		g, err := Open(context.Background(), cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		jwks = append(jwks, serveOnce(g, "GET", "/auth/jwks", "", nil).Body.String())
	}
	if jwks[0] != jwks[1] || !strings.Contains(jwks[0], `"kid"`) {
		t.Errorf("two gateways on one key file publish different keys:\n%s\n%s", jwks[0], jwks[1])
	}
}
