package sandbox

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkMTU_PCD01ToRestHook measures a device reading end to end
// through the gateway to a rest-hook: a PCD-01 message sent over MLLP,
// stored as an Observation (ACK AA), and notified to a Subscription's
// rest-hook endpoint on loopback. It reports the latency from sending to
// the notification's arrival (p50, p99) and from the ACK to it, in ms.
//
//	go test -run '^$' -bench MTU_PCD01ToRestHook -benchtime 2s ./sandbox
func BenchmarkMTU_PCD01ToRestHook(b *testing.B) {
	env, addr := mtuBenchEnv(b, func(c *Config) { c.SubscriptionLoopback = true })
	arrived := make(chan time.Time, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- now
	}))
	defer hook.Close()
	resp, body := env.fhir(b, http.MethodPost, "/Subscription", "",
		subscriptionBody("Observation?subject=Patient/pat-fnr", fmt.Sprintf(`{"type":"rest-hook","endpoint":%q,"payload":"application/fhir+json"}`, hook.URL)))
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("subscription: %d %v", resp.StatusCode, body)
	}
	id := body["id"].(string)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, body := env.fhir(b, http.MethodGet, "/Subscription/"+id, "", "")
		if resp.StatusCode == http.StatusOK && body["status"] == "active" {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("Subscription/%s is not active: %v", id, body)
		}
	}
	sendPCD01s(b, addr, "HOOK", "hook", func(i int) time.Time {
		select {
		case at := <-arrived:
			return at
		case <-time.After(10 * time.Second):
			b.Fatalf("message %d: no notification", i)
			return time.Time{}
		}
	})
}
