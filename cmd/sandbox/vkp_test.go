package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestVKPSimulate_SendsThroughARunningSandbox: the simulator's night
// reaches a served hub connector over HTTP and every event is accepted.
func TestVKPSimulate_SendsThroughARunningSandbox(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	env := map[string]string{"HPS_DATA": t.TempDir(), "HPS_SEED_PATIENTS": "0", "HPS_CONNECTORS": "vkp"}
	go func() {
		done <- serve(ctx, []string{"--addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	var out, errOut bytes.Buffer
	if err := run([]string{"vkp", "simulate", "--target", "http://" + addr, "--events", "11"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("simulate: %v\n%s%s", err, out.String(), errOut.String())
	}
	if lines := strings.Count(out.String(), "\n"); lines != 11 || !strings.Contains(out.String(), "4.1 Fall (event 3, journaled)") {
		t.Errorf("output:\n%s", out.String())
	}
	if err := run([]string{"vkp", "nonsense"}, func(string) string { return "" }, &out, &errOut); err == nil {
		t.Error("an unknown subcommand was taken")
	}
	cancel()
	<-done
}
