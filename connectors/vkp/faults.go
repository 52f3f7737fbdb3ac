package vkp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
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
	// NonceEvery answers every n-th submission of a caller with a
	// DPoP-bound token 401 with a use_dpop_nonce challenge and a
	// DPoP-Nonce header, as a resource server that rotated its nonce does
	// (RFC 9449 §9); the client must send it again with a new proof that
	// carries that nonce (0: never).
	NonceEvery int `json:"nonce_every"`
	// ShuffleWindow serves what a reader lists (a page of a search) out of
	// order: the entries of each run of ShuffleWindow are shuffled, the
	// same way for the same page and ShuffleSeed, as events that arrive
	// out of the order they were sent in (0 or 1: in order). A reader must
	// order them by their own times.
	ShuffleWindow int    `json:"shuffle_window"`
	ShuffleSeed   uint64 `json:"shuffle_seed"`
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
		{"duplicate_every", s.DuplicateEvery, maxEvery}, {"nonce_every", s.NonceEvery, maxEvery}, {"shuffle_window", s.ShuffleWindow, maxEvery},
		{"retry_after", s.RetryAfter, maxRetryAfter}, {"delay_ms", s.DelayMillis, maxDelay}} {
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
// connector (this one, PMD, JFT) serves its settings routes and asks it
// about each submission and each page a reader lists. The settings are
// kept in the gateway's connectors.SettingsStore, with the sandbox's own
// settings, so that they survive a restart; a gateway reads them again
// after settingsTTL, so that a change made through another reaches it.
// The counts are each gateway's own. The zero value is not usable; make
// it with NewFaults.
type Faults struct {
	hub   string // the connector's id, for log lines and the store
	sleep func(r *http.Request, d time.Duration)
	log   *slog.Logger
	store connectors.SettingsStore // nil: in memory only
	now   func() time.Time

	mu       sync.Mutex
	settings map[string]*sandboxState // by sandbox
}

// settingsTTL is how long a gateway serves the settings it read.
const settingsTTL = 5 * time.Second

// NewFaults returns the fault injection of connector hub; sleep waits for
// a slow answer (nil: a timer that ends with the request). The settings
// are kept in deps.Settings (in memory when nil).
func NewFaults(hub string, sleep func(r *http.Request, d time.Duration), deps connectors.Deps) *Faults {
	if sleep == nil {
		sleep = sleepFor
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &Faults{hub: hub, sleep: sleep, log: log, store: deps.Settings, now: now, settings: map[string]*sandboxState{}}
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

// sandboxState is a sandbox's settings, when they were read, and its
// count of submissions.
type sandboxState struct {
	Settings
	read        time.Time
	submissions int
}

// state returns sandbox's state, reading its settings from the store when
// they are not known or older than settingsTTL; fs.mu is held. A store
// that fails leaves the settings as they were (none at first): a fault
// setting is not worth failing a submission for.
func (fs *Faults) state(ctx context.Context, sandbox string) *sandboxState {
	st := fs.settings[sandbox]
	if st == nil {
		st = &sandboxState{}
		fs.settings[sandbox] = st
	}
	if fs.store == nil || (!st.read.IsZero() && fs.now().Sub(st.read) < settingsTTL) {
		return st
	}
	st.read = fs.now()
	b, err := fs.store.ConnectorSettings(ctx, sandbox, fs.hub)
	if err != nil {
		fs.log.Warn(fs.hub+": the sandbox's hub settings could not be read", "sandbox", sandbox, "err", err)
		return st
	}
	var s Settings
	if len(b) > 0 {
		if err := json.Unmarshal(b, &s); err != nil || s.validate() != nil {
			fs.log.Warn(fs.hub+": the sandbox's stored hub settings are not valid; none apply", "sandbox", sandbox)
			s = Settings{}
		}
	}
	st.Settings = s
	return st
}

// Fault is what the settings make of one submission.
type Fault struct {
	status     int // 429 or 503, or 0
	retryAfter int
	delay      time.Duration
	duplicate  bool
	nonce      bool
}

// Next counts a submission of the caller's sandbox and returns its fault
// and the sandbox's allow-list. The nonce fault is for callers with a
// DPoP-bound token only.
func (fs *Faults) Next(ctx context.Context, caller connectors.Caller) (Fault, []string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	st := fs.state(ctx, caller.Sandbox)
	st.submissions++
	n := st.submissions
	f := Fault{delay: time.Duration(st.DelayMillis) * time.Millisecond}
	switch {
	case st.ThrottleEvery > 0 && n%st.ThrottleEvery == 0:
		f.status, f.retryAfter = http.StatusTooManyRequests, max(st.RetryAfter, 1)
	case st.UnavailableEvery > 0 && n%st.UnavailableEvery == 0:
		f.status, f.retryAfter = http.StatusServiceUnavailable, st.RetryAfter
	case st.NonceEvery > 0 && n%st.NonceEvery == 0 && caller.DPoP:
		f.status, f.nonce = http.StatusUnauthorized, true
	case st.DuplicateEvery > 0 && n%st.DuplicateEvery == 0:
		f.duplicate = true
	}
	return f, slices.Clone(st.Allow)
}

// Order returns the order in which to serve the n entries of a page a
// reader of sandbox lists: nil for as they are, else a permutation
// (entry i of the answer is entry order[i] of the page) that shuffles
// each run of ShuffleWindow entries, the same for the same page, named by
// key (its cursor), and seed.
func (fs *Faults) Order(ctx context.Context, sandbox, key string, n int) []int {
	fs.mu.Lock()
	st := fs.state(ctx, sandbox)
	window, seed := st.ShuffleWindow, st.ShuffleSeed
	fs.mu.Unlock()
	if window < 2 || n < 2 {
		return nil
	}
	return shuffled(n, window, seed, key)
}

func shuffled(n, window int, seed uint64, key string) []int {
	h := fnv.New64a()
	h.Write([]byte(key))
	rng := mrand.New(mrand.NewPCG(seed, h.Sum64()))
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	for start := 0; start < n; start += window {
		run := order[start:min(start+window, n)]
		rng.Shuffle(len(run), func(i, j int) { run[i], run[j] = run[j], run[i] })
	}
	return order
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
	if f.nonce {
		nonce := proofNonce(r)
		if nonce == "" {
			nonce = newUUID()
		}
		w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256 ES384 RS256 PS256"`)
		w.Header().Set("DPoP-Nonce", nonce)
		connectors.WriteOutcome(w, outcome.New(outcome.Unauthenticated, outcome.Login,
			"the hub's DPoP nonce changed (a fault this sandbox's hub settings inject): send the request again with a new DPoP proof carrying the nonce of the DPoP-Nonce header; nothing was stored"))
		return true
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

// proofNonce is the nonce of the request's DPoP proof, which the gateway
// verified before the connector ran: the nonce it accepts now. The
// gateway's nonces are its own and shared by every resource it serves, so
// the hub names the one in force rather than one the gateway would refuse.
func proofNonce(r *http.Request) string {
	parts := strings.Split(r.Header.Get("DPoP"), ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(b, &claims) != nil || len(claims.Nonce) > 512 {
		return ""
	}
	// A nonce is NQCHARs (RFC 9449 §8.1), fit for a header as it is.
	for i := range len(claims.Nonce) {
		if c := claims.Nonce[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return ""
		}
	}
	return claims.Nonce
}

func (c *Faults) getSettings(w http.ResponseWriter, r *http.Request) {
	caller, ok := connectors.CallerFrom(r.Context())
	if !ok {
		connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "no sandbox for the request"))
		return
	}
	c.mu.Lock()
	st := c.state(r.Context(), caller.Sandbox)
	s := st.Settings
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
			"the settings are a JSON object of throttle_every, retry_after, unavailable_every, delay_ms, duplicate_every, nonce_every, shuffle_window, shuffle_seed and allow: %s", clip(err.Error())))
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
	if c.store != nil {
		b, _ := json.Marshal(s)
		if err := c.store.SetConnectorSettings(r.Context(), caller.Sandbox, c.hub, b); err != nil {
			c.log.Error(c.hub+": the sandbox's hub settings could not be kept", "sandbox", caller.Sandbox, "err", err)
			connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "the settings could not be kept; nothing changed"))
			return
		}
	}
	c.mu.Lock()
	st := c.state(r.Context(), caller.Sandbox)
	st.Settings, st.read, st.submissions = s, c.now(), 0
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

// Reorder returns xs in order (Faults.Order); xs itself when order is nil.
func Reorder[T any](order []int, xs []T) []T {
	if order == nil {
		return xs
	}
	out := make([]T, len(xs))
	for i, j := range order {
		out[i] = xs[j]
	}
	return out
}
