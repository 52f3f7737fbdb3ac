package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/sandbox"
	"hpsandbox/sandbox/requestlog"
)

func TestConformanceReport_WritesTheFilesAndFailsTheRun(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	log, err := requestlog.OpenSQLite(ctx, sandbox.RequestLogPath(dir), 100)
	if err != nil {
		t.Fatal(err)
	}
	err = log.Append(ctx, []requestlog.Entry{
		{Sandbox: "default", Time: now.Add(-time.Hour), ClientID: "app-1", Method: "GET", Path: "/auth/authorize", Status: 302,
			RequestID: "req-1", OAuth: &requestlog.OAuth{Endpoint: "authorize", PKCEMethod: "plain", Challenge: true,
				StateLen: 36, StateBits: 150, RedirectExact: true, AudMatches: true}},
		{Sandbox: "default", Time: now.Add(-3 * time.Hour), ClientID: "app-1", Method: "GET", Path: "/fhir/Patient", Status: 200,
			Query: "access_token=REDACTED", RequestID: "req-0"},
	})
	log.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	env := map[string]string{"HPS_DATA": dir}
	err = reportCmd(ctx, []string{"--client", "app-1", "--since", "2h", "--json", filepath.Join(out, "r.json"),
		"--junit", filepath.Join(out, "r.xml"), "--html", filepath.Join(out, "r.html")},
		func(k string) string { return env[k] }, func() time.Time { return now }, &stdout, &stderr)
	if !errors.Is(err, errRunFailed) {
		t.Fatalf("reportCmd = %v, want errRunFailed\n%s%s", err, stdout.String(), stderr.String())
	}
	if s := stdout.String(); !strings.Contains(s, "fail  smart.pkce-s256") || !strings.Contains(s, "FAIL: score") ||
		!strings.Contains(s, "1 exchanges") {
		t.Errorf("summary:\n%s", s)
	}
	b, err := os.ReadFile(filepath.Join(out, "r.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fhirjson.Parse(b); err != nil {
		t.Errorf("the JSON report is not a valid TestReport: %v", err)
	}
	x, _ := os.ReadFile(filepath.Join(out, "r.xml"))
	if err := xml.Unmarshal(x, new(struct{})); err != nil {
		t.Errorf("the JUnit file does not parse: %v", err)
	}
	if h, _ := os.ReadFile(filepath.Join(out, "r.html")); !bytes.Contains(h, []byte("smart.pkce-s256")) {
		t.Error("the HTML report does not name the check")
	}
}

func TestConformanceReport_RefusesWhatItCannotDo(t *testing.T) {
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"HPS_DATA": dir}[k] }
	for name, args := range map[string][]string{
		"NoClient":   {},
		"NoLog":      {"--client", "a"},
		"BadSince":   {"--client", "a", "--since", "yesterday"},
		"Subcommand": nil,
	} {
		t.Run(name, func(t *testing.T) {
			var err error
			if args == nil {
				err = conformanceCmd(context.Background(), []string{"judge"}, getenv, &bytes.Buffer{}, &bytes.Buffer{})
			} else {
				err = reportCmd(context.Background(), args, getenv, time.Now, &bytes.Buffer{}, &bytes.Buffer{})
			}
			if err == nil || errors.Is(err, errRunFailed) {
				t.Fatalf("err = %v, want a usage error", err)
			}
		})
	}
}
