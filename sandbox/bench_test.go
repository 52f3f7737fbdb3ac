package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/smart"
)

const benchPatient = `{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"01818512345"}],` +
	`"name":[{"family":"Nordmann","given":["Kari"]}],"gender":"female","birthDate":"1985-01-01",` +
	`"address":[{"line":["Prinsens gate 1"],"city":"Trondheim","postalCode":"7012","country":"NO"}]}`

// benchServer runs the gateway on loopback over a fresh store.
func benchServer(b *testing.B) *httptest.Server {
	return benchServerWith(b, Defaults())
}

func benchServerWith(b *testing.B, cfg Config) *httptest.Server {
	b.Helper()
	store, err := sqlite.Open(context.Background(), b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	g := New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(g)
	b.Cleanup(func() { srv.Close(); g.Close(); store.Close() })
	return srv
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
}

// BenchmarkCreate_HTTPOneByOne measures creates posted one at a time, each
// its own request and transaction, through the whole gateway.
func BenchmarkCreate_HTTPOneByOne(b *testing.B) {
	srv := benchServer(b)
	client := benchClient()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		resp, err := client.Post(srv.URL+"/fhir/Patient", "application/fhir+json", bytes.NewReader([]byte(benchPatient)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// load sends n GETs of url from c concurrent clients and returns requests/s.
func load(b *testing.B, client *http.Client, url string, n, c int) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkRead_HTTPVsBareHandler measures read by id through the gateway
// and, in the same run, a bare net/http handler serving the same bytes with
// the same headers; "ratio" is gateway throughput over bare throughput.
// The two alternate in rounds so that both see the same machine, and each
// reports the CPU time of the process per read (client included: both
// sides pay the same client), which a shared machine disturbs less than
// the throughput.
func BenchmarkRead_HTTPVsBareHandler(b *testing.B) {
	srv := benchServer(b)
	client := benchClient()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/fhir/Patient/kari", bytes.NewReader([]byte(
		`{"resourceType":"Patient","id":"kari"`+benchPatient[len(`{"resourceType":"Patient"`):])))
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		b.Fatalf("seed: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, _ = client.Get(srv.URL + "/fhir/Patient/kari")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lm)
		w.Write(body)
	}))
	defer bare.Close()
	const clients, rounds = 8, 4
	urls := map[string]string{"gateway": srv.URL + "/fhir/Patient/kari", "bare": bare.URL}
	load(b, client, urls["bare"], 200, clients) // warm both connection pools
	load(b, client, urls["gateway"], 200, clients)
	n := max(b.N/rounds, 500)
	took, cpu := map[string]float64{}, map[string]time.Duration{}
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		order := [2]string{"gateway", "bare"}
		if r%2 == 1 {
			order = [2]string{"bare", "gateway"}
		}
		for _, side := range order {
			start := cpuTime()
			took[side] += float64(n) / load(b, client, urls[side], n, clients)
			cpu[side] += cpuTime() - start
		}
	}
	gw, bt := float64(rounds*n)/took["gateway"], float64(rounds*n)/took["bare"]
	b.ReportMetric(gw, "gateway-reads/s")
	b.ReportMetric(bt, "bare-reads/s")
	b.ReportMetric(gw/bt, "ratio")
	b.ReportMetric(float64(cpu["gateway"])/float64(rounds*n), "gateway-cpu-ns/read")
	b.ReportMetric(float64(cpu["bare"])/float64(rounds*n), "bare-cpu-ns/read")
	b.ReportMetric(float64(cpu["bare"])/float64(cpu["gateway"]), "cpu-ratio")
	if testing.Verbose() {
		fmt.Printf("read-by-id: gateway %.0f/s, bare %.0f/s, ratio %.2f\n", gw, bt, gw/bt)
	}
}

// benchServerSQLiteLog runs the gateway as `sandbox serve` does, with its
// request log in an SQLite file.
func benchServerSQLiteLog(b *testing.B) *httptest.Server {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := Defaults()
	logStore, err := requestlog.OpenSQLite(ctx, filepath.Join(dir, requestLogFile), cfg.RequestLogMax)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := smart.NewKeys()
	if err != nil {
		b.Fatal(err)
	}
	g := &Gateway{}
	gw, err := build(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)),
		parts{keys: keys, requestLog: logStore, track: g.track})
	if err != nil {
		b.Fatal(err)
	}
	g.track(logStore.Close)
	srv := httptest.NewServer(gw.engine)
	b.Cleanup(func() { srv.Close(); g.Close(); store.Close() })
	return srv
}

// BenchmarkRead_RequestLogOverhead measures read by id through two
// gateways in one run, one recording every exchange in the request log (an
// SQLite file, as `sandbox serve` keeps it) and
// one without it, alternating rounds so that both see the same machine;
// "ratio" is throughput with the log over throughput without (target ≥ 0.95).
func BenchmarkRead_RequestLogOverhead(b *testing.B) {
	off := Defaults()
	off.RequestLogMax = 0
	servers := map[string]*httptest.Server{"on": benchServerSQLiteLog(b), "off": benchServerWith(b, off)}
	client := benchClient()
	for _, srv := range servers {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/fhir/Patient/kari", bytes.NewReader([]byte(
			`{"resourceType":"Patient","id":"kari"`+benchPatient[len(`{"resourceType":"Patient"`):])))
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			b.Fatalf("seed: %v %v", err, resp)
		}
		resp.Body.Close()
		load(b, client, srv.URL+"/fhir/Patient/kari", 500, 8) // warm up
	}
	const rounds = 6
	n := max(b.N/rounds, 1000)
	var took = map[string]float64{}
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		for _, mode := range [2]string{"on", "off"} {
			if r%2 == 1 {
				mode = map[string]string{"on": "off", "off": "on"}[mode]
			}
			took[mode] += float64(n) / load(b, client, servers[mode].URL+"/fhir/Patient/kari", n, 8)
		}
	}
	on, offRate := float64(rounds*n)/took["on"], float64(rounds*n)/took["off"]
	b.ReportMetric(on, "logged-reads/s")
	b.ReportMetric(offRate, "unlogged-reads/s")
	b.ReportMetric(on/offRate, "ratio")
	if testing.Verbose() {
		fmt.Printf("read-by-id: request log on %.0f/s, off %.0f/s, ratio %.3f\n", on, offRate, on/offRate)
	}
}
