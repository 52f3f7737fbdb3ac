package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

// startServe runs serve with env until the test ends and returns its address.
func startServe(t testing.TB, env map[string]string, args ...string) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), func(k string) string { return env[k] }, io.Discard, ready)
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	return addr, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

func total(t testing.TB, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct{ Total int }
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %d %v", url, resp.StatusCode, err)
	}
	return b.Total
}

func TestServe_SeedsAnEmptyStoreOnceWithPersonasAndPatients(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HPS_DATA": dir}
	addr, stop := startServe(t, env, "--seed-patients", "5")
	if n := total(t, "http://"+addr+"/fhir/Patient"); n != 15 {
		t.Errorf("patients after first start: %d, want 10 personas + 5", n)
	}
	resp, err := http.Get("http://" + addr + "/fhir/Patient/persona-copd")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("persona-copd: %v %v", err, resp)
	}
	resp.Body.Close()
	stop()
	// A second start finds data and does not seed again.
	addr, stop = startServe(t, env, "--seed-patients", "50")
	defer stop()
	if n := total(t, "http://"+addr+"/fhir/Patient"); n != 15 {
		t.Errorf("patients after restart: %d, want 15 (no reseed)", n)
	}
	if n := total(t, "http://"+addr+"/fhir/Patient/persona-copd/_history"); n != 1 {
		t.Errorf("persona-copd has %d versions after restart, want 1", n)
	}
}

func TestServe_SeedPatientsMinusOneStartsEmpty(t *testing.T) {
	addr, stop := startServe(t, map[string]string{"HPS_DATA": t.TempDir(), "HPS_SEED_PATIENTS": "-1"})
	defer stop()
	if n := total(t, "http://"+addr+"/fhir/Patient"); n != 0 {
		t.Errorf("patients %d, want 0", n)
	}
}

func TestSeedCommand_FillsNamedSandboxDeterministically(t *testing.T) {
	ctx := context.Background()
	var dirs []string
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		dirs = append(dirs, dir)
		var errb bytes.Buffer
		err := run([]string{"seed", "--data", dir, "--patients", "3", "--seed", "42", "--sandbox", "sup1"}, func(string) string { return "" }, io.Discard, &errb)
		if err != nil || !strings.Contains(errb.String(), "seeded") {
			t.Fatalf("seed: %v %s", err, errb.String())
		}
	}
	var bodies [2]string
	for i, dir := range dirs {
		s, err := sqlite.Open(ctx, dir, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := s.Search(ctx, "sup1", fhirstore.SearchQuery{Type: "Patient", Count: 100})
		if p.Total != 13 {
			t.Errorf("sup1 holds %d patients, want 13", p.Total)
		}
		if d, _ := s.Search(ctx, fhirstore.DefaultSandbox, fhirstore.SearchQuery{Type: "Patient"}); d.Total != 0 {
			t.Errorf("default sandbox touched: %d", d.Total)
		}
		for _, m := range p.Matches {
			if !strings.HasPrefix(m.ID, "persona-") {
				var v struct{ Name []struct{ Family string } }
				json.Unmarshal(m.Body, &v)
				bodies[i] += m.ID + ":" + v.Name[0].Family + ";"
			}
		}
		s.Close()
	}
	if bodies[0] == "" || bodies[0] != bodies[1] {
		t.Errorf("same seed gave different patients:\n%s\n%s", bodies[0], bodies[1])
	}
	if err := run([]string{"seed", "--patients", "-3"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("negative --patients accepted")
	}
}

func TestFixturesExport_WritesNDJSONAndBundle(t *testing.T) {
	dir := t.TempDir()
	if err := run([]string{"fixtures", "export", "--format", "ndjson", "--patients", "2", filepath.Join(dir, "nd")}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "nd", "Patient.ndjson"))
	if err != nil || bytes.Count(data, []byte("\n")) != 12 {
		t.Fatalf("Patient.ndjson: %v, %d lines", err, bytes.Count(data, []byte("\n")))
	}
	if err := run([]string{"fixtures", "export", "--format", "bundle", "--patients", "2", filepath.Join(dir, "b")}, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var b struct {
		ResourceType, Type string
		Entry              []struct{ Request struct{ Method, URL string } }
	}
	data, _ = os.ReadFile(filepath.Join(dir, "b", "bundle.json"))
	if err := json.Unmarshal(data, &b); err != nil || b.Type != "transaction" || len(b.Entry) < 12 || b.Entry[0].Request.Method != "PUT" {
		t.Fatalf("bundle: %v %s %d", err, b.Type, len(b.Entry))
	}
	if err := run([]string{"fixtures", "export", "--format", "xml", dir}, nil, io.Discard, io.Discard); err == nil {
		t.Error("--format xml accepted")
	}
}

// BenchmarkServe_EmptyDataToPatients measures the time from `sandbox serve`
// on an empty data directory to /fhir/Patient answering with the seeded
// population (default seed: personas + 100 patients).
func BenchmarkServe_EmptyDataToPatients(b *testing.B) {
	for i := 0; i < b.N; i++ {
		start := time.Now()
		addr, stop := startServe(b, map[string]string{"HPS_DATA": b.TempDir()})
		if n := total(b, "http://"+addr+"/fhir/Patient?_count=1"); n != 110 {
			b.Fatalf("patients %d", n)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s-to-patients")
		stop()
	}
}

func TestServe_BusyPort_FailsBeforeCreatingOrSeedingAnything(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "data")
	err = serve(context.Background(), []string{"--addr", busy.Addr().String(), "--data", data, "--seed-patients", "5"},
		func(string) string { return "" }, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) || !strings.Contains(err.Error(), "--addr") {
		t.Fatalf("serve on a busy port: %v, want an error naming the address and how to choose another", err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the data directory was made before the port was bound: %v", err)
	}
}
