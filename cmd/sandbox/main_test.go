package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServe_ServesFHIRAndShutsDownGracefully(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	// A small population: seeding is tested on its own (seed_test.go).
	env := map[string]string{"HPS_DATA": t.TempDir(), "HPS_SEED_PATIENTS": "2"}
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	resp, err := http.Get("http://" + addr + "/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"CapabilityStatement"`) {
		t.Fatalf("metadata: %d %.200s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestRun_RefusesBadConfigurationWithAFix(t *testing.T) {
	var out, errb bytes.Buffer
	err := run([]string{"serve", "--addr", "nope"}, func(string) string { return "" }, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("err %v", err)
	}
	if err := run([]string{"frobnicate"}, func(string) string { return "" }, &out, &errb); err == nil {
		t.Fatal("unknown command accepted")
	}
	if err := run([]string{"version"}, func(string) string { return "" }, &out, &errb); err != nil || !strings.Contains(out.String(), "sandbox") {
		t.Fatalf("version: %v %q", err, out.String())
	}
}
