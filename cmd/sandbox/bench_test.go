package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The bench command drives a running sandbox with every workload and
// prints a row for each, with requests per second, no errors, and the CPU
// time per request of the process --target-pid names (here the test's
// own, which serves the sandbox; the bare handler runs in it too, as the
// load generator does, so its row has none, nor have the kinds of the
// mixed workload).
func TestBench_DrivesASandboxAndPrintsEveryWorkload(t *testing.T) {
	addr, stop := startServe(t, nil, "--data", t.TempDir(), "--seed-patients", "20", "--log-level", "error")
	defer stop()
	var out bytes.Buffer
	err := benchCmd(context.Background(), []string{"--target", "http://" + addr + "/fhir", "--duration", "500ms",
		"--target-pid", strconv.Itoa(os.Getpid())}, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	rowRE := regexp.MustCompile(`^(\S.*?|  \S.*?)\s{2,}(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\d+)\s+(\S+)`)
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
		// The mixed workload's kinds share its CPU time, which its own
		// row shows.
		name := strings.TrimSpace(m[1])
		switch cpu, err := time.ParseDuration(m[8]); {
		case name == "bare net/http handler" || strings.HasPrefix(name, "of which "):
			if m[8] != "-" {
				t.Errorf("%q shows a CPU time of its own: %s", name, line)
			}
		case err != nil || cpu <= 0:
			t.Errorf("workload %q shows no CPU time per request: %s", name, line)
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

// The bare handler a child serves answers every request with the stored
// answer's bytes and headers, on loopback, until it is stopped.
func TestBench_ServeBareAnswersTheStoredBytes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bare.json")
	body := []byte(`{"resourceType":"Patient","id":"kari"}`)
	b, _ := json.Marshal(bareAnswer{Header: http.Header{"Content-Type": {"application/fhir+json; charset=utf-8"}, "Etag": {`W/"1"`}}, Body: body})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serveBare(ctx, file, w); w.Close() }()
	addr, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr = strings.TrimSpace(addr)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("serves on %q, want loopback", addr)
	}
	resp, err := http.Get("http://" + addr + "/fhir/Patient/anything")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, body) || resp.Header.Get("ETag") != `W/"1"` || resp.Header.Get("Content-Type") != "application/fhir+json; charset=utf-8" {
		t.Errorf("answer %q with %v", got, resp.Header)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stopping: %v", err)
	}
}

// /proc/PID/stat: utime and stime are the 14th and 15th fields, counted
// after the command name, which may hold spaces and parentheses.
func TestParseProcStat(t *testing.T) {
	for _, c := range []struct {
		stat string
		want time.Duration
		ok   bool
	}{
		{"4242 (sandbox) S 1 4242 4242 0 -1 4194560 3012 0 0 0 250 31 0 0 20 0 12 0 100 1 2", 2810 * time.Millisecond, true},
		{"7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 1 2 0 0", 30 * time.Millisecond, true},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 1", 0, false},
		{"7 (x) R 1 7 7 0 -1 0 0 0 0 0 one 2 0", 0, false},
		{"no parenthesis", 0, false},
		{"", 0, false},
	} {
		got, ok := parseProcStat([]byte(c.stat))
		if got != c.want || ok != c.ok {
			t.Errorf("parseProcStat(%q) = %v, %v, want %v, %v", c.stat, got, ok, c.want, c.ok)
		}
	}
}

// The meter reads this process's CPU time as it grows, and none of a
// process that is not there.
func TestCPUMeter_MeasuresWhatTheProcessSpends(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	m := startCPU(os.Getpid())
	x := 0
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
		for i := range 100000 {
			x ^= i
		}
	}
	cpu, ok := m.used()
	if !ok || cpu < 100*time.Millisecond {
		t.Errorf("after 300 ms of work the meter reads %v, %v (%d)", cpu, ok, x)
	}
	if _, ok := startCPU(0).used(); ok {
		t.Error("a meter of no process reads a time")
	}
	if got := perRequest(time.Second, true, 4); got != 250*time.Millisecond {
		t.Errorf("perRequest = %v", got)
	}
	if got := perRequest(time.Second, false, 4); got != 0 {
		t.Errorf("perRequest of an unknown time = %v", got)
	}
}
