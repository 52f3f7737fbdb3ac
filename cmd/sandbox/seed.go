package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox"
)

// seedStream writes the personas and n patients generated from seed into
// sandbox as they are generated (fixtures.Stream into fhirstore.LoadResources),
// so that memory stays bounded whatever n. bar, when set, shows the
// resources written so far and an estimate of the total (from the
// resources per patient generated so far). It returns the resources
// written.
func seedStream(ctx context.Context, store fhirstore.Store, sandbox fhirstore.Sandbox, n int, seed int64, bar *progress) (int, error) {
	var progress func(done, total int)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pieces := make(chan []*fhirjson.Resource)
	genErr := make(chan error, 1)
	var generated, first, patients atomic.Int64 // resources; of the first piece (no patients); patients
	go func() {
		defer close(pieces)
		pieceNo := 0
		genErr <- fixtures.Stream(fixtures.Options{Seed: seed, Patients: n, Personas: true}, func(rs []fixtures.Resource) error {
			// The generator's output is valid FHIR (its tests parse every
			// shape it makes), so it skips validation.
			res := make([]*fhirjson.Resource, len(rs))
			for i, r := range rs {
				res[i] = &fhirjson.Resource{Type: r.Type, ID: r.ID, Body: r.Body}
			}
			generated.Add(int64(len(rs)))
			if pieceNo == 0 {
				first.Store(int64(len(rs)))
			} else {
				patients.Store(min(int64(pieceNo)*fixtures.StreamChunk, int64(n)))
			}
			pieceNo++
			select {
			case pieces <- res:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	next := func() ([]*fhirjson.Resource, error) {
		b, ok := <-pieces
		if !ok {
			if err := <-genErr; err != nil {
				return nil, err
			}
			return nil, nil
		}
		return b, nil
	}
	var opts fhirstore.LoadOptions
	if bar != nil {
		progress = bar.update
		opts.Finishing = bar.finishing
	}
	if progress != nil {
		opts.Progress = func(done, _ int) {
			total := int(generated.Load())
			if p := patients.Load(); p > 0 && p < int64(n) {
				total = int(first.Load() + (generated.Load()-first.Load())*int64(n)/p)
			}
			progress(done, max(total, done))
		}
	}
	return fhirstore.LoadResources(ctx, store, sandbox, next, opts)
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
	written, err := seedStream(ctx, store, fhirstore.DefaultSandbox, cfg.SeedPatients, cfg.Seed, nil)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	log.Info("seeded the default sandbox", "resources", written, "patients", cfg.SeedPatients,
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
	profile := cpuProfileFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *patients < 0 || *patients > fixtures.MaxPatients {
		return fmt.Errorf("--patients %d: want 0 to %d", *patients, fixtures.MaxPatients)
	}
	store, err := openStore(ctx, cfg, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	stopProfile, err := startCPUProfile(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	bar := newProgress(stderr, "seeding")
	written, err := seedStream(ctx, store, fhirstore.Sandbox(*sb), *patients, *seed, bar)
	if err != nil {
		return err
	}
	bar.done()
	took := time.Since(start)
	fmt.Fprintf(stderr, "seeded %d resources (%d patients + personas, seed %d) into sandbox %q in %s (%.0f resources/s)\n",
		written, *patients, *seed, *sb, took.Round(time.Millisecond), float64(written)/took.Seconds())
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
	start time.Time
}

func newProgress(w io.Writer, label string) *progress {
	p := &progress{w: w, label: label, start: time.Now()}
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
	n := min(done*width/total, width)
	line := fmt.Sprintf("\r%s [%s%s] %d/%d", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total)
	if el := time.Since(p.start).Seconds(); el > 0 && done > 0 {
		rate := float64(done) / el
		left := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
		line += fmt.Sprintf("  %.0f/s, %s left ", rate, left)
	}
	fmt.Fprint(p.w, line)
}

// finishing says that the resources are written and the store finishes
// the load (builds its search indexes).
func (p *progress) finishing() {
	if p.tty {
		fmt.Fprintf(p.w, "\n%s: building search indexes …", p.label)
	}
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
