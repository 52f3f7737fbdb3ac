package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
	"hpsandbox/sandbox/tenant"
)

// migrateCmd brings the configured store's schema up to date and exits:
// the migration Job of a deployment, run before gateways of a new release
// start. It takes serve's flags and environment, so that one ConfigMap
// serves both; gateways migrate on start too, and concurrent migrations
// of one PostgreSQL database wait for each other.
func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := serverConfig("migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	start := time.Now()
	store, err := openStore(ctx, cfg, sqlstore.Options{}) // opening migrates
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	where := "sqlite in " + cfg.DataDir
	if cfg.Store != "" {
		where = "postgres at " + redactURL(cfg.Store)
		// The registry, the request log and the export jobs keep their
		// own schemas in that database; opening each migrates it.
		reg, err := tenant.OpenPostgresRegistry(ctx, cfg.Store)
		if err != nil {
			return err
		}
		if err := reg.Close(); err != nil {
			return err
		}
		rl, err := sandbox.OpenRequestLog(ctx, cfg)
		if err != nil {
			return err
		}
		if err := rl.Close(); err != nil {
			return err
		}
		jobs, err := sandbox.OpenExportJobs(ctx, cfg)
		if err != nil {
			return err
		}
		if err := jobs.Close(); err != nil {
			return err
		}
	}
	log.Info("schema is current", "store", where, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// redactURL is raw without its password, for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// healthcheckCmd asks a running server's readiness (or any URL given) and
// succeeds on 200: the health check of a container image without a shell
// or curl (distroless), run as `sandbox healthcheck`.
func healthcheckCmd(args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("url", defaultHealthURL(getenv("HPS_ADDR")), "URL to GET; healthy when it answers 200")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want an http(s) URL such as http://127.0.0.1:8080/readyz", *target)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %d %s", u.Redacted(), resp.StatusCode, body)
	}
	return nil
}

// defaultHealthURL is the readiness URL of a server listening on addr
// (HPS_ADDR), reached over loopback; 127.0.0.1:8080 when addr is unset or
// unreadable.
func defaultHealthURL(addr string) string {
	port := "8080"
	if _, p, err := net.SplitHostPort(addr); err == nil && p != "" && p != "0" {
		port = p
	}
	return "http://" + net.JoinHostPort("127.0.0.1", port) + "/readyz"
}

// serveMetrics serves h at /metrics on addr until the returned stop is
// called; its listener is bound before serve reports ready.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(context.Context) error, bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("cannot listen on %s for metrics (%w); choose another with --metrics-addr or HPS_METRICS_ADDR", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	return srv.Shutdown, ln.Addr().String(), nil
}
