package main

import (
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// BenchmarkTwoGateways_ReadByID reads one Patient by id through the proxy
// from 16 clients at once: all to one gateway, or taking turns between
// two. Both gateways run on the same machine as PostgreSQL, Redis and the
// load, so the figure is what a second gateway adds here, not in a
// deployment with a machine each.
//
//	go test -run '^$' -bench TwoGateways -benchtime 2s ./cmd/sandbox/
func BenchmarkTwoGateways_ReadByID(b *testing.B) {
	p := startPair(b)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}
	get := func(path, gw string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, p.proxy.URL+path, nil)
		if gw != "" {
			req.Header.Set(gatewayHeader, gw)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	req, _ := http.NewRequest(http.MethodGet, p.proxy.URL+"/fhir/Patient?_count=1", nil)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`"fullUrl":"[^"]*/Patient/([^"]+)"`).FindSubmatch(body)
	if m == nil {
		b.Fatalf("no patient: %s", body)
	}
	path := "/fhir/Patient/" + string(m[1])
	for _, bc := range []struct{ name, gw string }{{"one gateway", "0"}, {"two gateways", ""}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetParallelism(8) // 16 clients on 2 cores
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					code, err := get(path, bc.gw)
					if err != nil || code != http.StatusOK {
						b.Errorf("read: %d %v", code, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
		})
	}
}
