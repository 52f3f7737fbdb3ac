package vkp_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hpsandbox/connectors/vkp"
)

func (h *hub) settings(body string) (int, string) {
	h.t.Helper()
	status, b, _ := h.do(http.MethodPut, h.srv.URL+"/connectors/vkp/settings", []byte(body))
	return status, string(b)
}

// submitWithRetries is a supplier's client: it retries 429 and 503,
// honouring Retry-After, up to tries times. It returns the statuses seen
// and the Retry-After values it was told.
func submitWithRetries(h *hub, body []byte, tries int) (statuses []int, waits []int) {
	for range tries {
		status, _, hdr := h.post("/Bundle", body)
		statuses = append(statuses, status)
		if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			return statuses, waits
		}
		if s, err := strconv.Atoi(hdr.Get("Retry-After")); err == nil {
			waits = append(waits, s) // a real client sleeps this long
		}
	}
	return statuses, waits
}

func TestFaults_ClientWithRetriesGetsThroughOnce(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	h := newHub(t, vkp.Options{Sleep: func(_ *http.Request, d time.Duration) {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
	}})
	if status, body := h.settings(`{"throttle_every":1,"retry_after":2}`); status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	// Every submission throttled: the client gives up, nothing is stored.
	statuses, waits := submitWithRetries(h, readFile(t, "alarm.json"), 3)
	if len(statuses) != 3 || statuses[2] != 429 || len(waits) != 3 || waits[0] != 2 {
		t.Fatalf("statuses %v, Retry-After %v; want three 429 with Retry-After 2", statuses, waits)
	}
	if h.versions() != 0 {
		t.Fatal("a throttled submission was stored")
	}
	// Every second throttled, every third unavailable, all slow.
	if status, body := h.settings(`{"throttle_every":2,"unavailable_every":3,"retry_after":1,"delay_ms":40}`); status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	subs := validSubmissions(t)
	var all []int
	for _, name := range []string{"alarm", "supervision", "dispense", "measurements"} {
		statuses, _ := submitWithRetries(h, subs[name], 5)
		if statuses[len(statuses)-1] != 200 {
			t.Fatalf("%s: statuses %v; the client did not get through", name, statuses)
		}
		all = append(all, statuses...)
	}
	if !contains(all, 429) || !contains(all, 503) {
		t.Fatalf("statuses %v: want both injected faults", all)
	}
	mu.Lock()
	n := len(slept)
	mu.Unlock()
	if n != len(all) {
		t.Errorf("%d slow answers of %d submissions", n, len(all))
	}
	// Patient + 3 (alarm) + 2 (supervision) + 1 (dispense) + 5 (measurements), once each.
	if v := h.versions(); v != 12 {
		t.Errorf("%d versions stored, want 12", v)
	}
}

func TestFaults_DuplicateDeliveryStoredOnce(t *testing.T) {
	h := newHub(t, vkp.Options{})
	if status, body := h.settings(`{"duplicate_every":1}`); status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	if status, body, _ := h.post("/Bundle", readFile(t, "alarm.json")); status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	for _, typ := range []string{"Encounter", "Composition", "DetectedIssue", "Patient"} {
		if n := len(h.search(typ, "")); n != 1 {
			t.Errorf("%d %s after a duplicate delivery, want 1", n, typ)
		}
	}
}

func TestSettings_Refusals(t *testing.T) {
	h := newHub(t, vkp.Options{})
	for _, tt := range []struct {
		body   string
		status int
	}{
		{`{"throttle_every":-1}`, 422},
		{`{"delay_ms":999999}`, 422},
		{`{"retry_after":100000}`, 422},
		{`{"allow":["123"]}`, 422},
		{`{"no_such":1}`, 400},
		{`not json`, 400},
	} {
		if status, body := h.settings(tt.body); status != tt.status || !strings.Contains(body, "OperationOutcome") {
			t.Errorf("%s: %d %s; want %d", tt.body, status, body, tt.status)
		}
	}
	// Settings are the sandbox's own.
	if status, _ := h.settings(`{"throttle_every":1}`); status != 200 {
		t.Fatal(status)
	}
	h.caller.Sandbox = "another"
	if status, body, _ := h.post("/Bundle", readFile(t, "alarm.json")); status != 200 {
		t.Fatalf("another sandbox is throttled by this one's settings: %d %s", status, body)
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
