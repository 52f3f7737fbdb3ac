package main

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A rest-hook Subscription written through a gateway outlives it: killed,
// the other gateway takes the subscription over once the lease runs out
// and notifies each later write once; started again, the gateway leaves
// the subscription to the one that holds it, and a write through it is
// notified once too.
func TestTwoGateways_SubscriptionOutlivesTheGatewayItWasWrittenThrough(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers and waits for a lease to run out")
	}
	p := startPair(t)
	c := newClient(t, p)
	subID, got := restHookSubscription(t, c, 0, "Overtaksen", "takeover")

	// write creates a matching Patient through base and returns its id.
	write := func(base string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+"/fhir/Patient", strings.NewReader(`{"resourceType":"Patient","name":[{"family":"Overtaksen"}]}`))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set(gatewayHeader, "1")
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("write at %s: %d %s", base, resp.StatusCode, b)
		}
		var pat struct{ ID string }
		_ = json.Unmarshal(b, &pat)
		return pat.ID
	}
	once := func(id, what string) {
		t.Helper()
		select {
		case g := <-got:
			if g != "PUT /Patient/"+id {
				t.Errorf("%s: %q, want PUT /Patient/%s", what, g, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no notification", what)
		}
		select {
		case g := <-got:
			t.Errorf("%s: a second delivery %q", what, g)
		case <-time.After(time.Second):
		}
	}
	once(write(p.proxy.URL), "a write at gateway 1 while gateway 0 runs the subscription")

	p.kill[0]()
	killed := time.Now()
	// Writes until the takeover are not notified; the first notified one
	// shows gateway 1 runs it.
	deadline := killed.Add(60 * time.Second)
	for taken := false; !taken; {
		write(p.proxy.URL)
		select {
		case <-got:
			taken = true
			took := time.Since(killed)
			t.Logf("taken over %v after the kill", took.Round(time.Second))
			if took >= 15*time.Second {
				// The default lease, not the pair's HPS_SUBSCRIPTION_TAKEOVER=5s.
				t.Errorf("taken over %v after the kill; the pair's gateways take over after 5 s", took.Round(time.Second))
			}
			// A write just before may be notified too.
			time.Sleep(time.Second)
			for len(got) > 0 {
				<-got
			}
		case <-time.After(2 * time.Second):
			if time.Now().After(deadline) {
				t.Fatal("gateway 1 did not take the subscription over within a minute")
			}
		}
	}
	once(write(p.proxy.URL), "a write at gateway 1 after the takeover")

	// Gateway 0 again, on its data directory: a write through it is
	// relayed to gateway 1, which notifies it, once.
	addr := startGateway(t, slices.Concat(p.env, []string{"HPS_DATA=" + filepath.Join(p.dir, "data0")}))
	if t.Failed() {
		t.FailNow()
	}
	once(write("http://"+addr), "a write at gateway 0 started again")
	waitStatus(t, c, subID, "active")
}
