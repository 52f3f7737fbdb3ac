package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/conformance/active"
)

// runCmd is `sandbox conformance run`: the active suite against a FHIR
// server. It prints a summary table, writes the report files asked for
// and returns errRunFailed when a test of error severity failed.
func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("conformance run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "FHIR base URL of the server to test (required), e.g. http://127.0.0.1:8080/fhir")
	clientID := fs.String("client-id", "", "client id of a registered backend service (with --key)")
	keyFile := fs.String("key", "", "PEM file of the backend service's private key (RSA for RS384, P-384 for ES384)")
	keyID := fs.String("key-id", "", "kid to send in client assertions (default: the key's RFC 7638 thumbprint)")
	scope := fs.String("scope", "system/*.rs", "scope the backend token asks for")
	profile := fs.String("profile", active.ProfileServer, "tests to run: "+strings.Join(active.ProfileIDs(), ", "))
	patientToken := fs.String("patient-token", "", "a patient-level access token, for the scope-enforcement tests (with --patient)")
	patient := fs.String("patient", "", "the id of the patient in context of --patient-token, or to sign in as with --simulated-login")
	other := fs.String("other-patient", "", "a patient the patient token must not see (default: found with the backend token)")
	simulated := fs.Bool("simulated-login", false, "get a patient token from an HP Sandbox through its simulated login and consent pages")
	loginClient := fs.String("login-client", "sandbox-demo", "public client of the simulated login (loopback redirect URIs)")
	timeout := fs.Duration("request-timeout", 30*time.Second, "time limit of each request")
	jsonOut := fs.String("json", "", "write the FHIR TestReport (JSON) to this file")
	junitOut := fs.String("junit", "", "write JUnit XML to this file")
	htmlOut := fs.String("html", "", "write a standalone HTML report to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("conformance run takes no arguments besides flags (got %q)", fs.Arg(0))
	}
	if *timeout <= 0 {
		return errors.New("--request-timeout must be positive, e.g. 30s")
	}
	if *target == "" {
		return errors.New("--target is required: the FHIR base URL of the server to test")
	}
	cfg := active.Config{Base: *target, ClientID: *clientID, KeyID: *keyID, Scope: *scope, PatientToken: *patientToken,
		Patient: *patient, OtherPatient: *other, SimulatedLogin: *simulated, LoginClient: *loginClient,
		HTTP: &http.Client{Timeout: *timeout}}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		if cfg.Key, err = active.ParseKey(b); err != nil {
			return fmt.Errorf("--key %s: %w", *keyFile, err)
		}
	}
	run, err := active.Run(ctx, cfg, *profile)
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
	summarizeActive(stdout, run)
	if !run.Passed() {
		return errRunFailed
	}
	return nil
}

// summarizeActive prints one line per test and the verdict.
func summarizeActive(w io.Writer, run *conformance.Run) {
	fmt.Fprintf(w, "%s: server %s, %d requests\n", run.Profile.Title, run.FHIRBase, run.Exchanges)
	for _, o := range run.Outcomes {
		fmt.Fprintf(w, "  %-5s %-7s %-42s %s\n", o.Result.Status, o.Check.Severity, o.Check.ID, o.Result.Message)
	}
	c := run.Counts()
	verdict := "PASS"
	if !run.Passed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s: score %.1f %%, %d passed, %d failed, %d skipped\n", verdict, run.Score(), c.Passed, c.Failed, c.Skipped)
}
