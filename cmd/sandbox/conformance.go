package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox"
	"hpsandbox/sandbox/conformance"
)

// errRunFailed is returned when a report's run failed, so that the
// command's exit status tells a CI job.
var errRunFailed = errors.New("the run failed: a check of severity error failed")

// conformanceCmd is `sandbox conformance …`.
func conformanceCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch {
	case len(args) > 0 && args[0] == "report":
		return reportCmd(ctx, args[1:], getenv, time.Now, stdout, stderr)
	case len(args) > 0 && args[0] == "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, "usage: sandbox conformance report --sandbox ID --client ID [--profile P] [--since T] [--until T] [--json F] [--junit F] [--html F]\n"+
		"       sandbox conformance run --target URL [--client-id ID --key FILE] [--profile P] [--patient-token T --patient ID | --simulated-login] [--json F] [--junit F] [--html F]\n")
	return errors.New("conformance: the subcommands are report and run")
}

// reportCmd judges a client's recorded exchanges in the request log of
// the data directory against a profile, prints a summary and writes the
// report files asked for. It reads the log and writes nothing into the
// data directory, so it may run beside the server.
func reportCmd(ctx context.Context, args []string, getenv func(string) string, now func() time.Time, stdout, stderr io.Writer) error {
	cfg := sandbox.Defaults()
	if err := cfg.LoadEnv(getenv); err != nil {
		return err
	}
	fs := flag.NewFlagSet("conformance report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory of the server (env HPS_DATA)")
	fs.StringVar(&cfg.Store, "store", cfg.Store, "the server's PostgreSQL database (env HPS_STORE), if its request log is kept there")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "the server's public URL, for the FHIR base in the report (env HPS_PUBLIC_URL)")
	sb := fs.String("sandbox", fhirstore.DefaultSandbox, "sandbox whose log to judge")
	client := fs.String("client", "", "client id whose exchanges to judge (required)")
	profile := fs.String("profile", conformance.ProfilePatientApp, "profile of checks: "+profileIDs())
	since := fs.String("since", "", "start of the window: an RFC 3339 time, or a duration before now (24h)")
	until := fs.String("until", "", "end of the window (RFC 3339); now when left out")
	jsonOut := fs.String("json", "", "write the FHIR TestReport (JSON) to this file")
	junitOut := fs.String("junit", "", "write JUnit XML to this file")
	htmlOut := fs.String("html", "", "write a standalone HTML report to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *client == "" {
		return errors.New("--client is required: the OAuth client id whose exchanges to judge")
	}
	at := now().UTC()
	req := conformance.RunRequest{ClientID: *client, Profile: *profile}
	var err error
	if req.Since, err = parseWhen(*since, at); err != nil {
		return fmt.Errorf("--since: %w", err)
	}
	if req.Until, err = parseWhen(*until, at); err != nil {
		return fmt.Errorf("--until: %w", err)
	}
	if path := sandbox.RequestLogPath(cfg.DataDir); cfg.Store == "" {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no request log at %s (%w); pass the server's --data or --store", path, err)
		}
	}
	log, err := sandbox.OpenRequestLog(ctx, cfg)
	if err != nil {
		return err
	}
	defer log.Close()
	runner := &conformance.Runner{Registry: conformance.Default(), Log: log, FHIRBase: cfg.FHIRBase,
		Now: func() time.Time { return at }}
	run, err := runner.Run(ctx, *sb, req)
	if err != nil {
		return err
	}
	for _, out := range []struct {
		file  string
		write func(io.Writer) error
	}{{*jsonOut, run.WriteJSON}, {*junitOut, run.WriteJUnit}, {*htmlOut, run.WriteHTML}} {
		if out.file == "" {
			continue
		}
		if err := writeReport(out.file, out.write); err != nil {
			return err
		}
	}
	summarize(stdout, run)
	if !run.Passed() {
		return errRunFailed
	}
	return nil
}

// parseWhen reads a time: RFC 3339, or a duration before now; "" is the
// zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 24h", s)
	}
	return t, nil
}

// writeReport writes one rendering of a report to the file name.
func writeReport(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return f.Close()
}

// summarize prints one line per check and the verdict.
func summarize(w io.Writer, run *conformance.Run) {
	fmt.Fprintf(w, "%s: client %s in sandbox %s, %d exchanges\n", run.Profile.Title, run.ClientID, run.Sandbox, run.Exchanges)
	for _, o := range run.Outcomes {
		fmt.Fprintf(w, "  %-5s %-26s %s\n", o.Result.Status, o.Check.ID, o.Result.Message)
	}
	c := run.Counts()
	verdict := "PASS"
	if !run.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s: score %.1f %%, %d passed, %d failed, %d skipped\n", verdict, run.Score(), c.Passed, c.Failed, c.Skipped)
}

func profileIDs() string {
	var ids []string
	for _, p := range conformance.Default().Profiles() {
		ids = append(ids, p.ID)
	}
	return strings.Join(ids, ", ")
}
