package guides_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox"
)

// operatorPassword is the operator's password in the test sandbox; the
// guides name it $OPERATOR_PASSWORD.
const operatorPassword = "guides-operator-password"

// shared is the sandbox the package's tests share: starting one (seeding
// 3,700 resources) is most of their cost, and none of them changes what
// another reads.
var shared struct {
	once  sync.Once
	base  string
	mllp  string // the medical-device feed's MLLP listener, host:port
	err   error
	close func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.close != nil {
		shared.close()
	}
	os.Exit(code)
}

// startSandbox returns the base URL of the shared sandbox, started on
// first use as `sandbox serve` starts it, with its default seed (the
// personas and 100 generated patients of seed 1), on a free loopback
// port: what the guides write as http://127.0.0.1:8080. It serves the
// connectors the guides show (the welfare-technology hub, JFT, PMD and
// the medical-device feed, whose MLLP listener is on another free port:
// what the guides write as 127.0.0.1:2575).
func startSandbox(t *testing.T) string {
	t.Helper()
	shared.once.Do(func() { shared.base, shared.mllp, shared.close, shared.err = start() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.base
}

func start() (base, mllpAddr string, stop func(), err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "guides-sandbox-")
	if err != nil {
		return "", "", nil, err
	}
	var closers []func()
	stop = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		os.RemoveAll(dir)
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	// Searches under the race detector on a busy machine take longer than
	// a client should wait in production.
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{SearchTimeout: 5 * time.Minute})
	if err != nil {
		return "", "", nil, err
	}
	closers = append(closers, func() { store.Close() })
	cfg := sandbox.Defaults()
	rs, err := fixtures.Generate(fixtures.Options{Seed: cfg.Seed, Patients: cfg.SeedPatients, Personas: true})
	if err != nil {
		return "", "", nil, err
	}
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		bodies[i] = r.Body
	}
	if err := fhirstore.Load(ctx, store, fhirstore.DefaultSandbox, bodies, fhirstore.LoadOptions{}); err != nil {
		return "", "", nil, err
	}
	// The server is started only once its handler is set; its address,
	// which the configuration names as the public URL, is known before.
	srv := httptest.NewUnstartedServer(nil)
	closers = append(closers, srv.Close)
	cfg.DataDir, cfg.PublicURL, cfg.OperatorPassword = dir, "http://"+srv.Listener.Addr().String(), operatorPassword
	if mllpAddr, err = freeAddr(); err != nil {
		return "", "", nil, err
	}
	cfg.Connectors = "vkp,jft,pmd,mtu"
	// The medical-device guide's rest-hook notifies a test server on
	// loopback, as --subscription-loopback allows for local development.
	cfg.SubscriptionLoopback = true
	cfg.ConnectorListen = "mtu=" + mllpAddr + "@" + fhirstore.DefaultSandbox
	g, err := sandbox.Open(ctx, cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return "", "", nil, err
	}
	closers = append(closers, func() { g.Close() })
	srv.Config.Handler = g
	srv.Start()
	return srv.URL, mllpAddr, stop, nil
}

// freeAddr returns a loopback address no one listens on (the gateway
// opens its listeners itself).
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// noRedirects is a client that shows redirects as they are, as curl does
// without -L.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
