package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/conformance/active"
)

// TestMain runs the command itself when the tests re-execute their
// binary with SANDBOX_MAIN_ARGS (a JSON array), so that exit statuses
// are tested as a CI job sees them.
func TestMain(m *testing.M) {
	if raw := os.Getenv("SANDBOX_MAIN_ARGS"); raw != "" {
		var args []string
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			panic(err)
		}
		os.Args = append([]string{"sandbox"}, args...)
		main()
		os.Exit(0)
	}
	testpg.Main(m) // runs the tests, then stops the PostgreSQL server they started
}

// exitStatus runs the command with args in a child process and returns
// its exit status and standard output.
func exitStatus(t *testing.T, args ...string) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SANDBOX_MAIN_ARGS="+string(raw))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String() + stderr.String()
	}
	t.Fatal(err)
	return 0, ""
}

// writeKey writes key as PKCS #8 PEM into dir.
func writeKey(t *testing.T, dir, name string, key *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveSecured serves a secured sandbox on a free loopback port with the
// demo backend client's public key, and returns its FHIR base and the
// private key's file.
func serveSecured(t *testing.T) (base, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := active.Thumbprint(key)
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Algorithm: "ES384", Use: "sig"}}})
	jwksFile := filepath.Join(dir, "backend.jwks")
	if err := os.WriteFile(jwksFile, jwks, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	env := map[string]string{"HPS_DATA": filepath.Join(dir, "data"), "HPS_SEED_PATIENTS": "2", "HPS_SECURE": "true",
		"HPS_DEMO_BACKEND_JWKS": jwksFile, "HPS_OPERATOR_PASSWORD": "operator-password-for-tests", "HPS_LOG_LEVEL": "error"}
	var logs bytes.Buffer
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &logs, ready)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case addr := <-ready:
		return "http://" + addr + "/fhir", writeKey(t, dir, "key.pem", key)
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	case <-time.After(3 * time.Minute):
		// Seeding validates every persona's resource: slow under the
		// race detector on a busy machine.
		t.Fatal("serve did not start")
	}
	return "", ""
}

func TestConformanceRun_ExitStatus(t *testing.T) {
	base, keyFile := serveSecured(t)
	out := t.TempDir()
	otherKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	wrongKey := writeKey(t, out, "wrong.pem", otherKey)
	garbage := filepath.Join(out, "garbage.pem")
	os.WriteFile(garbage, []byte("not a key"), 0o600)
	backend := []string{"conformance", "run", "--target", base, "--client-id", "sandbox-backend"}

	t.Run("PassesWithZero", func(t *testing.T) {
		args := append(backend, "--key", keyFile, "--simulated-login", "--patient", "persona-copd",
			"--json", filepath.Join(out, "r.json"), "--junit", filepath.Join(out, "r.xml"), "--html", filepath.Join(out, "r.html"))
		code, stdout := exitStatus(t, args...)
		if code != 0 || !strings.Contains(stdout, "PASS: score 100.0 %") {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
		b, _ := os.ReadFile(filepath.Join(out, "r.json"))
		if _, err := fhirjson.Parse(b); err != nil {
			t.Errorf("the JSON report is not a TestReport: %v", err)
		}
		x, _ := os.ReadFile(filepath.Join(out, "r.xml"))
		if err := xml.Unmarshal(x, new(struct {
			XMLName xml.Name `xml:"testsuites"`
		})); err != nil {
			t.Errorf("the JUnit file does not parse: %v", err)
		}
		if h, _ := os.ReadFile(filepath.Join(out, "r.html")); !bytes.Contains(h, []byte("active.patient-scope-chain")) {
			t.Error("the HTML report does not name the tests")
		}
	})
	t.Run("FailsWithOne", func(t *testing.T) {
		code, stdout := exitStatus(t, append(backend, "--key", wrongKey)...)
		if code != 1 || !strings.Contains(stdout, "fail  error   active.backend-token-flow") || !strings.Contains(stdout, "FAIL: score") {
			t.Fatalf("exit %d\n%s", code, stdout)
		}
	})
	for name, args := range map[string][]string{
		"NoTarget":          {"conformance", "run"},
		"TargetNotHTTP":     {"conformance", "run", "--target", "ftp://127.0.0.1/fhir"},
		"UnknownProfile":    {"conformance", "run", "--target", base, "--profile", "nope"},
		"KeyWithoutClient":  {"conformance", "run", "--target", base, "--key", keyFile},
		"KeyFileMissing":    append(backend, "--key", filepath.Join(out, "absent.pem")),
		"KeyFileNotAKey":    append(backend, "--key", garbage),
		"PatientTokenNoId":  {"conformance", "run", "--target", base, "--patient-token", "t"},
		"UnknownFlag":       {"conformance", "run", "--target", base, "--frobnicate"},
		"UnknownSubcommand": {"conformance", "judge"},
		"StrayArgument":     {"conformance", "run", "--target", base, "extra"},
		"ZeroTimeout":       {"conformance", "run", "--target", base, "--request-timeout", "0s"},
	} {
		t.Run("UsageWithTwo/"+name, func(t *testing.T) {
			if code, stdout := exitStatus(t, args...); code != 2 {
				t.Fatalf("exit %d, want 2\n%s", code, stdout)
			}
		})
	}
}
