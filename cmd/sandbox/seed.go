package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox"
)

// population generates the personas and n patients from seed as bodies
// for fhirstore.Load.
func population(n int, seed int64) ([][]byte, error) {
	rs, err := fixtures.Generate(fixtures.Options{Seed: seed, Patients: n, Personas: true})
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, len(rs))
	for i, r := range rs {
		bodies[i] = r.Body
	}
	return bodies, nil
}

// seedIfEmpty fills the default sandbox when nothing was ever written to it.
func seedIfEmpty(ctx context.Context, store fhirstore.Store, cfg sandbox.Config, log *slog.Logger) error {
	if cfg.SeedPatients < 0 {
		return nil
	}
	h, err := store.History(ctx, fhirstore.DefaultSandbox, fhirstore.HistoryQuery{})
	if err != nil {
		return err
	}
	if h.Total > 0 {
		return nil
	}
	start := time.Now()
	bodies, err := population(cfg.SeedPatients, cfg.Seed)
	if err != nil {
		return err
	}
	if err := fhirstore.Load(ctx, store, fhirstore.DefaultSandbox, bodies, fhirstore.LoadOptions{}); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	log.Info("seeded the default sandbox", "resources", len(bodies), "patients", cfg.SeedPatients,
		"seed", cfg.Seed, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// seedCmd is `sandbox seed`: fills a sandbox of the store in --data.
func seedCmd(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg := sandbox.Defaults()
	if err := cfg.LoadEnv(getenv); err != nil {
		return err
	}
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory of the embedded store (env HPS_DATA)")
	patients := fs.Int("patients", 100, "generated patients, besides the personas")
	seed := fs.Int64("seed", cfg.Seed, "seed of the generated population")
	sb := fs.String("sandbox", fhirstore.DefaultSandbox, "sandbox to fill")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *patients < 0 || *patients > fixtures.MaxPatients {
		return fmt.Errorf("--patients %d: want 0 to %d", *patients, fixtures.MaxPatients)
	}
	store, err := sqlite.Open(ctx, cfg.DataDir, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	bodies, err := population(*patients, *seed)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, "seeding")
	if err := fhirstore.Load(ctx, store, fhirstore.Sandbox(*sb), bodies, fhirstore.LoadOptions{Progress: bar.update}); err != nil {
		return err
	}
	bar.done()
	fmt.Fprintf(stderr, "seeded %d resources (%d patients + personas, seed %d) into sandbox %q in %s\n",
		len(bodies), *patients, *seed, *sb, time.Since(start).Round(time.Millisecond))
	return nil
}

// fixturesCmd is `sandbox fixtures export --format ndjson|bundle DIR`.
func fixturesCmd(args []string, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "export" {
		return fmt.Errorf("usage: sandbox fixtures export [--format ndjson|bundle] [--patients N] [--seed S] DIR")
	}
	fs := flag.NewFlagSet("fixtures export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", "ndjson", "ndjson (one file per type) or bundle (one transaction Bundle, bundle.json)")
	patients := fs.Int("patients", 100, "generated patients, besides the personas")
	seed := fs.Int64("seed", 1, "seed of the generated population")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("fixtures export: name one output directory")
	}
	dir := fs.Arg(0)
	rs, err := fixtures.Generate(fixtures.Options{Seed: *seed, Patients: *patients, Personas: true})
	if err != nil {
		return err
	}
	switch *format {
	case "ndjson":
		err = fixtures.WriteNDJSON(dir, rs)
	case "bundle":
		err = writeBundleFile(dir, rs)
	default:
		return fmt.Errorf("--format %q: want ndjson or bundle", *format)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %d resources to %s (%s)\n", len(rs), dir, *format)
	return nil
}

func writeBundleFile(dir string, rs []fixtures.Resource) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(dir + string(os.PathSeparator) + "bundle.json")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	return fixtures.WriteBundle(f, rs)
}

// progress draws a bar on a terminal and nothing elsewhere.
type progress struct {
	w     io.Writer
	label string
	tty   bool
}

func newProgress(w io.Writer, label string) *progress {
	p := &progress{w: w, label: label}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(done, total int) {
	if !p.tty || total == 0 {
		return
	}
	const width = 30
	n := done * width / total
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
