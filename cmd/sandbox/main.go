// Command sandbox is the HP Sandbox server: a FHIR R4 API over synthetic
// patients for suppliers to test their integrations against.
//
//	sandbox serve [--addr 127.0.0.1:8080] [--data ./data] [--seed-patients 100]
//	sandbox seed [--patients N] [--seed S]
//	sandbox fixtures export [--format ndjson|bundle] DIR
//	sandbox bench [--target URL] [--duration 5s] [--workloads …]
//	sandbox validate [--profile URL] [--ig DIR] FILE…
//	sandbox conformance report --sandbox ID --client ID [--since T] [--json F] [--junit F] [--html F]
//	sandbox conformance run --target URL [--client-id ID --key FILE] [--json F] [--junit F] [--html F]
//	sandbox devices simulate --patient ID --device KIND [--rate N] [--duration D] [--as pcd01|phd]
//	sandbox vkp simulate [--target URL] [--sandbox ID] [--persona ID] [--events N]
//	sandbox migrate [--store postgres://…]
//	sandbox healthcheck [--url http://127.0.0.1:8080/readyz]
//	sandbox version
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
	"os"
	"os/signal"
	"syscall"
	"time"

	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
)

func main() {
	err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, errRunFailed), errors.Is(err, errInvalid):
		// The report or the validation was made, and found failures or
		// errors: CI reads the status.
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	case err != nil:
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(2)
	}
}

const usage = `usage: sandbox <command> [flags]

commands:
  serve             run the sandbox server (embedded store in --data);
                    an empty store is seeded with the personas and
                    --seed-patients generated patients
  seed              fill a sandbox with personas and generated patients
                    (--patients N --seed S --data DIR --sandbox ID)
  fixtures export   write the population as NDJSON or a transaction
                    Bundle (--format ndjson|bundle DIR)
  import FILE…      load NDJSON files and Bundles into a sandbox
                    (--data DIR --sandbox ID); all or nothing
  bench             start a sandbox on a free loopback port (or use
                    --target) and drive it with the built-in load
                    generator: create, transaction, read, mixed, search
                    (--duration 5s --workloads create,read …)
  validate FILE…    check resources against their type and profiles
                    (--profile URL --ig DIR --json); exit status 1 when
                    any has errors
  conformance report
                    judge a client's recorded exchanges against a profile
                    (--sandbox ID --client ID --profile P --since T
                    --json F --junit F --html F); exit status 1 on failure
  conformance run   test a FHIR R4 + SMART server with the active suite
                    (--target URL --client-id ID --key FILE --profile P
                    --json F --junit F --html F); exit status 1 on failure
  devices simulate  send a simulated device's readings to a sandbox's
                    device listener as IHE PCD-01 over MLLP (--patient ID
                    --device pulse-oximeter|bp|scale|glucose|monitor
                    --rate N --duration D --addr HOST:PORT), or as PHD
                    gateway uploads through the FHIR API (--as phd
                    --target URL --token T; --start TIME --readings N
                    repeat a run)
  vkp simulate      send a persona's welfare-technology events (a night of
                    a fall sensor, a week of home measurements) to the
                    hub connector over HTTP (--target URL --sandbox ID
                    --persona ID --events N --token T)
  migrate           bring the store's schema up to date and exit (serve's
                    flags and environment: --store, --data)
  healthcheck       GET a running server's /readyz (--url), exit status
                    0 when it answers 200: a container's health check
  version           print the version
`

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return serve(ctx, args[1:], getenv, stderr, nil)
	case "seed":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return seedCmd(ctx, args[1:], getenv, stderr)
	case "fixtures":
		return fixturesCmd(args[1:], stderr)
	case "import":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return importCmd(ctx, args[1:], getenv, stderr)
	case "bench":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "validate":
		return validateCmd(args[1:], stdout, stderr)
	case "conformance":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return conformanceCmd(ctx, args[1:], getenv, stdout, stderr)
	case "devices":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return devicesCmd(ctx, args[1:], stdout, stderr)
	case "vkp":
		return vkpCmd(args[1:], stdout, stderr)
	case "migrate":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return migrateCmd(ctx, args[1:], getenv, stderr)
	case "healthcheck":
		return healthcheckCmd(args[1:], getenv, stderr)
	case "version":
		fmt.Fprintln(stdout, "sandbox", sandbox.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// serverConfig is the configuration of the server's commands (serve,
// migrate): defaults, then the environment, then the flags, validated.
func serverConfig(name string, args []string, getenv func(string) string, stderr io.Writer) (sandbox.Config, error) {
	cfg := sandbox.Defaults()
	if err := cfg.LoadEnv(getenv); err != nil {
		return cfg, err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// serve runs the server until ctx ends, then shuts down gracefully. When
// ready is not nil it receives the listening address.
func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) error {
	cfg, err := serverConfig("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer cfg.TuneGC(getenv)()
	level, _ := cfg.Level()
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	// Bind first: on a busy port nothing is created or seeded. Connections
	// wait in the listen queue until the store is ready.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (%w); choose another address with --addr or HPS_ADDR (make run ADDR=127.0.0.1:8081)", cfg.Addr, err)
	}
	defer ln.Close()
	// The SMART issuer defaults to the address really listened on.
	cfg.Addr = ln.Addr().String()

	store, err := openStore(ctx, cfg, sqlstore.Options{SearchTimeout: cfg.SearchTimeout})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := seedIfEmpty(ctx, store, cfg, log); err != nil {
		return err
	}
	gw, err := sandbox.Open(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	defer gw.Close()
	if cfg.MetricsAddr != "" {
		stopMetrics, _, err := serveMetrics(cfg.MetricsAddr, gw.MetricsHandler(), log)
		if err != nil {
			return err
		}
		defer stopMetrics(context.Background())
	}
	srv := &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	log.Info("serving", "fhir_base", "http://"+ln.Addr().String()+"/fhir", "portal", "http://"+ln.Addr().String()+"/portal/", "data", cfg.DataDir, "version", sandbox.Version)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
