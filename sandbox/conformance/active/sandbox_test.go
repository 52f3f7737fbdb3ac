package active

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox"
	"hpsandbox/sandbox/conformance"
)

// backendKey is the key of the sandbox's demo backend client in tests.
var backendKey = sync.OnceValue(func() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
})

// backendRSAKey is the backend client's second key, for RS384.
var backendRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// populationDir holds a store with the personas, loaded once (loading
// validates every resource, which takes long under the race detector)
// and copied for each sandbox.
var populationDir = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "active-population-")
	if err != nil {
		return "", err
	}
	madePopulation = dir
	rs, err := fixtures.Generate(fixtures.Options{Seed: 1, Personas: true})
	if err != nil {
		return dir, err
	}
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		bodies[i] = r.Body
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		return dir, err
	}
	if err := fhirstore.Load(ctx, store, fhirstore.DefaultSandbox, bodies, fhirstore.LoadOptions{}); err != nil {
		store.Close()
		return dir, err
	}
	return dir, store.Close()
})

// madePopulation is the directory populationDir made, for TestMain to
// remove.
var madePopulation string

// copyPopulation copies the personas' store into dir.
func copyPopulation(dir string) error {
	src, err := populationDir()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(src, sqlite.FileName))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, sqlite.FileName), b, 0o600)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if madePopulation != "" {
		os.RemoveAll(madePopulation)
	}
	os.Exit(code)
}

// testPatient and the backend client of the runs against the sandbox.
const (
	testPatient  = "persona-copd"
	backendID    = "sandbox-backend"
	demoClientID = "sandbox-demo"
)

// sandboxServer is a secured sandbox with the personas, served on a
// free loopback port through wrap (nil serves it as it is), with the
// demo backend client registered with backendKey's public key.
type sandboxServer struct {
	srv *httptest.Server
	gw  http.Handler
}

func (s *sandboxServer) base() string { return s.srv.URL + "/fhir" }

func startSandbox(t testing.TB, secure bool, wrap func(http.Handler) http.Handler, adjust ...func(*sandbox.Config)) *sandboxServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := copyPopulation(dir); err != nil {
		t.Fatal(err)
	}
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var set jose.JSONWebKeySet
	for alg, key := range map[string]crypto.Signer{"ES384": backendKey(), "RS384": backendRSAKey()} {
		kid, err := Thumbprint(key)
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: key.Public(), KeyID: kid, Algorithm: alg, Use: "sig"})
	}
	jwks, _ := json.Marshal(set)
	jwksFile := filepath.Join(dir, "backend.jwks")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &sandboxServer{srv: httptest.NewUnstartedServer(nil)}
	t.Cleanup(s.srv.Close)
	cfg := sandbox.Defaults()
	cfg.DataDir, cfg.PublicURL, cfg.DemoBackendJWKS, cfg.Secure = dir, "http://"+s.srv.Listener.Addr().String(), jwksFile, secure
	cfg.OperatorPassword = "operator-password-for-tests"
	for _, a := range adjust {
		a(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	gw, err := sandbox.Open(ctx, cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	s.gw = gw
	s.srv.Config.Handler = gw
	if wrap != nil {
		s.srv.Config.Handler = wrap(gw)
	}
	s.srv.Start()
	return s
}

// fixedNow is the clock of the runs whose reports are golden.
var fixedNow = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

// config is a run's configuration against s: the backend client and the
// simulated login as testPatient.
func (s *sandboxServer) config() Config {
	return Config{Base: s.base(), ClientID: backendID, Key: backendKey(), SimulatedLogin: true, Patient: testPatient}
}

// statuses maps each test id of run to its status.
func statuses(run *conformance.Run) map[string]conformance.Status {
	out := map[string]conformance.Status{}
	for _, o := range run.Outcomes {
		out[o.Check.ID] = o.Result.Status
	}
	return out
}

// pemKey writes key as a PKCS #8 PEM file and returns its path.
func pemKey(t testing.TB, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRun_AgainstTheSandbox: the suite passes against the sandbox, and
// runs of it with other credentials against the same sandbox behave.
func TestRun_AgainstTheSandbox(t *testing.T) {
	s := startSandbox(t, true, nil)
	t.Run("EveryTestPasses", func(t *testing.T) {
		run, err := Run(context.Background(), s.config(), ProfileServer)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range run.Outcomes {
			t.Logf("%-5s %-45s %s", o.Result.Status, o.Check.ID, o.Result.Message)
			if o.Result.Status != conformance.Pass {
				t.Errorf("%s: %s: %s\n%v", o.Check.ID, o.Result.Status, o.Result.Message, o.Result.Evidence)
			}
		}
	})
	t.Run("RS384Key", func(t *testing.T) { rs384Key(t, s) })
	t.Run("TokenRefused_DependentsSkip", func(t *testing.T) { tokenRefusedDependentsSkip(t, s) })
	t.Run("GivenPatientToken", func(t *testing.T) { givenPatientToken(t, s) })
}
