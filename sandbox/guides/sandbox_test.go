package guides_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox"
)

// operatorPassword is the operator's password in the test sandbox; the
// guides name it $OPERATOR_PASSWORD.
const operatorPassword = "guides-operator-password"

// startSandbox runs the sandbox as `sandbox serve` does, with its default
// seed (the personas and 100 generated patients of seed 1), on a free
// loopback port, and returns its base URL (what the guides write as
// http://127.0.0.1:8080).
func startSandbox(t *testing.T, adjust func(*sandbox.Config)) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := sandbox.Defaults()
	rs, err := fixtures.Generate(fixtures.Options{Seed: cfg.Seed, Patients: cfg.SeedPatients, Personas: true})
	if err != nil {
		t.Fatal(err)
	}
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		bodies[i] = r.Body
	}
	if err := fhirstore.Load(ctx, store, fhirstore.DefaultSandbox, bodies, fhirstore.LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg.DataDir, cfg.PublicURL, cfg.OperatorPassword = dir, srv.URL, operatorPassword
	if adjust != nil {
		adjust(&cfg)
	}
	g, err := sandbox.Open(ctx, cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	h = g
	return srv.URL
}

// noRedirects is a client that shows redirects as they are, as curl does
// without -L.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
