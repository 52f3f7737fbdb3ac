package vkp

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/nin"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
)

// Settings are a sandbox's settings of the hub: the faults it injects into
// submissions, so that a supplier can prove its retry logic, and identity
// numbers its test-data guard lets pass. The zero value injects nothing.
//
// Faults count a sandbox's submissions (POST of a Bundle): with
// ThrottleEvery 3, every third is answered 429 with Retry-After; a
// submission answered with a fault is not stored. Each fault is checked in
// the order of the fields; the first that applies wins.
type Settings struct {
	// ThrottleEvery answers every n-th submission 429 Too Many Requests
	// with Retry-After: RetryAfter seconds (0: never).
	ThrottleEvery int `json:"throttle_every"`
	RetryAfter    int `json:"retry_after"`
	// UnavailableEvery answers every n-th submission 503 Service
	// Unavailable, with Retry-After when RetryAfter is set (0: never).
	UnavailableEvery int `json:"unavailable_every"`
	// DelayMillis delays every answer (the request is still served).
	DelayMillis int `json:"delay_ms"`
	// DuplicateEvery delivers every n-th accepted submission into the
	// record twice, as a hub that retries its delivery does; the record
	// must hold it once.
	DuplicateEvery int `json:"duplicate_every"`
	// Allow are national identity numbers the test-data guard lets pass in
	// this sandbox besides those of the connector's Options.
	Allow []string `json:"allow"`
}

// Limits of the settings.
const (
	maxEvery      = 1000
	maxRetryAfter = 3600
	maxDelay      = 30_000
	maxAllow      = 1000
)

func (s Settings) validate() error {
	for _, f := range []struct {
		name   string
		v, max int
	}{{"throttle_every", s.ThrottleEvery, maxEvery}, {"unavailable_every", s.UnavailableEvery, maxEvery},
		{"duplicate_every", s.DuplicateEvery, maxEvery}, {"retry_after", s.RetryAfter, maxRetryAfter}, {"delay_ms", s.DelayMillis, maxDelay}} {
		if f.v < 0 || f.v > f.max {
			return outcome.New(outcome.Unprocessable, outcome.Value, "%s is %d; it takes 0 to %d", f.name, f.v, f.max).At(f.name)
		}
	}
	if len(s.Allow) > maxAllow {
		return outcome.New(outcome.Unprocessable, outcome.TooLong, "allow lists %d numbers; it takes at most %d", len(s.Allow), maxAllow).At("allow")
	}
	for i, a := range s.Allow {
		if len(a) != 11 || !allDigits(a) {
			return outcome.New(outcome.Unprocessable, outcome.Value, "allow[%d] is not an 11-digit identity number", i).At(fmt.Sprintf("allow[%d]", i))
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Faults holds each sandbox's Settings and counts its submissions; a hub
// connector (this one, PMD) serves its settings routes and asks it about
// each submission. The zero value is not usable; make it with NewFaults.
type Faults struct {
	hub   string // the connector's id, for log lines
	sleep func(r *http.Request, d time.Duration)
	log   *slog.Logger

	mu       sync.Mutex
	settings map[string]*sandboxState // by sandbox
}

// NewFaults returns the fault injection of connector hub; sleep waits for
// a slow answer (nil: a timer that ends with the request).
func NewFaults(hub string, sleep func(r *http.Request, d time.Duration), log *slog.Logger) *Faults {
	if sleep == nil {
		sleep = sleepFor
	}
	if log == nil {
		log = slog.Default()
	}
	return &Faults{hub: hub, sleep: sleep, log: log, settings: map[string]*sandboxState{}}
}

// Routes are the settings endpoints, GET and PUT /settings.
func (f *Faults) Routes() []connectors.Route {
	return []connectors.Route{
		{Method: http.MethodGet, Path: "/settings", Summary: "the sandbox's fault-injection and test-data settings of the hub",
			Handler: http.HandlerFunc(f.getSettings)},
		{Method: http.MethodPut, Path: "/settings", Summary: "set the sandbox's fault-injection and test-data settings of the hub",
			Handler: http.HandlerFunc(f.putSettings)},
	}
}

// sandboxState is a sandbox's settings and its count of submissions.
type sandboxState struct {
	Settings
	submissions int
}

// Fault is what the settings make of one submission.
type Fault struct {
	status     int // 429 or 503, or 0
	retryAfter int
	delay      time.Duration
	duplicate  bool
}

// Next counts a submission of sandbox and returns its fault and the
// sandbox's allow-list.
func (fs *Faults) Next(sandbox string) (Fault, []string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	st := fs.settings[sandbox]
	if st == nil {
		return Fault{}, nil
	}
	st.submissions++
	n := st.submissions
	f := Fault{delay: time.Duration(st.DelayMillis) * time.Millisecond}
	switch {
	case st.ThrottleEvery > 0 && n%st.ThrottleEvery == 0:
		f.status, f.retryAfter = http.StatusTooManyRequests, max(st.RetryAfter, 1)
	case st.UnavailableEvery > 0 && n%st.UnavailableEvery == 0:
		f.status, f.retryAfter = http.StatusServiceUnavailable, st.RetryAfter
	case st.DuplicateEvery > 0 && n%st.DuplicateEvery == 0:
		f.duplicate = true
	}
	return f, st.Allow
}

// Duplicate reports whether the submission is to be delivered twice.
func (f Fault) Duplicate() bool { return f.duplicate }

// Inject applies f's delay and status; it reports whether it answered.
func (fs *Faults) Inject(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.delay > 0 {
		fs.sleep(r, f.delay)
	}
	if f.status == 0 {
		return false
	}
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
	}
	if f.status == http.StatusTooManyRequests {
		connectors.WriteOutcome(w, outcome.New(outcome.Throttled, codeThrottled,
			"too many submissions (a fault this sandbox's hub settings inject): retry after %d seconds; nothing was stored", f.retryAfter))
	} else {
		connectors.WriteOutcome(w, outcome.New(outcome.Busy, codeTransient,
			"the hub is unavailable (a fault this sandbox's hub settings inject): retry later; nothing was stored"))
	}
	return true
}

func (c *Faults) getSettings(w http.ResponseWriter, r *http.Request) {
	caller, ok := connectors.CallerFrom(r.Context())
	if !ok {
		connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "no sandbox for the request"))
		return
	}
	c.mu.Lock()
	var s Settings
	if st := c.settings[caller.Sandbox]; st != nil {
		s = st.Settings
	}
	c.mu.Unlock()
	if s.Allow == nil {
		s.Allow = []string{}
	}
	b, _ := json.Marshal(s)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (c *Faults) putSettings(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := admit(w, r)
	if !ok {
		return
	}
	var s Settings
	dec := json.NewDecoder(bytesReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure,
			"the settings are a JSON object of throttle_every, retry_after, unavailable_every, delay_ms, duplicate_every and allow: %s", clip(err.Error())))
		return
	}
	if err := s.validate(); err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	for _, a := range s.Allow {
		if ok, _ := nin.Synthetic(a, nil); !ok {
			c.log.Info(c.hub+": a sandbox allows an identity number that does not look synthetic", "sandbox", caller.Sandbox)
		}
	}
	c.mu.Lock()
	c.settings[caller.Sandbox] = &sandboxState{Settings: s}
	c.mu.Unlock()
	c.getSettings(w, r)
}

func sandboxKey(s string) fhirstore.Sandbox { return fhirstore.Sandbox(s) }

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// IssueType codes of the faults.
const (
	codeThrottled outcome.Code = "throttled"
	codeTransient outcome.Code = "transient"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
