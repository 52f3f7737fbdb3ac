package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The bench command drives a running sandbox with every workload and
// prints a row for each, with requests per second and no errors.
func TestBench_DrivesASandboxAndPrintsEveryWorkload(t *testing.T) {
	addr, stop := startServe(t, nil, "--data", t.TempDir(), "--seed-patients", "20", "--log-level", "error")
	defer stop()
	var out bytes.Buffer
	err := benchCmd(context.Background(), []string{"--target", "http://" + addr + "/fhir", "--duration", "500ms"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	rowRE := regexp.MustCompile(`^(\S.*?|  \S.*?)\s{2,}(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)`)
	seen := map[string]bool{}
	for _, line := range strings.Split(out.String(), "\n") {
		m := rowRE.FindStringSubmatch(line)
		if m == nil || m[1] == "workload" {
			continue
		}
		seen[strings.TrimSpace(m[1])] = true
		if rps, _ := strconv.Atoi(m[3]); rps == 0 {
			t.Errorf("workload %q ran no requests: %s", m[1], line)
		}
		if m[7] != "0" {
			t.Errorf("workload %q had errors: %s", m[1], line)
		}
	}
	for _, w := range workloads {
		if !seen[w.name] {
			t.Errorf("no row for workload %q in:\n%s", w.name, out.String())
		}
	}
	if !strings.Contains(out.String(), "ratio ") {
		t.Errorf("the read row names no ratio to the bare handler:\n%s", out.String())
	}
}

func TestBench_DrivesLoopbackOnly(t *testing.T) {
	for target, ok := range map[string]bool{
		"http://127.0.0.1:8080/fhir":   true,
		"http://127.9.9.9:8080/fhir":   true,
		"http://[::1]:8080/fhir":       true,
		"http://localhost:8080/fhir":   true,
		"http://10.0.0.1:8080/fhir":    false,
		"http://example.org/fhir":      false,
		"http://0.0.0.0:8080/fhir":     false,
		"127.0.0.1:8080":               false,
		"http://127.0.0.1.nip.io/fhir": false,
	} {
		if err := loopbackOnly(target); (err == nil) != ok {
			t.Errorf("loopbackOnly(%q) = %v, want allowed %v", target, err, ok)
		}
	}
	if err := benchCmd(context.Background(), []string{"--workloads", "nothing"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "create") {
		t.Errorf("an unknown workload: %v, want an error naming the workloads", err)
	}
}
