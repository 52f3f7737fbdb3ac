package vkp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp"
	"hpsandbox/smart"
)

// memSettings is a connectors.SettingsStore in memory, as the tenant
// registry keeps them across restarts.
type memSettings struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail bool
}

func (s *memSettings) ConnectorSettings(_ context.Context, sandbox, connector string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[sandbox+"/"+connector], nil
}

func (s *memSettings) SetConnectorSettings(_ context.Context, sandbox, connector string, b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("the registry is read-only")
	}
	s.m[sandbox+"/"+connector] = b
	return nil
}

func putSettings(t testing.TB, f *vkp.Faults, sandbox, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPut, "/settings", strings.NewReader(body))
	r = r.WithContext(connectors.WithCaller(r.Context(), connectors.Caller{Sandbox: sandbox}))
	w := httptest.NewRecorder()
	f.Routes()[1].Handler.ServeHTTP(w, r)
	return w
}

func TestFaults_SettingsSurviveARestartInTheStore(t *testing.T) {
	store := &memSettings{m: map[string][]byte{}}
	f := vkp.NewFaults(vkp.ID, nil, connectors.Deps{Settings: store})
	if w := putSettings(t, f, "s1", `{"throttle_every":2,"shuffle_window":3,"shuffle_seed":9}`); w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	// A new gateway (a restart) reads them from the store.
	again := vkp.NewFaults(vkp.ID, nil, connectors.Deps{Settings: store})
	caller := connectors.Caller{Sandbox: "s1"}
	var statuses []bool
	for range 4 {
		f, _ := again.Next(t.Context(), caller)
		w := httptest.NewRecorder()
		statuses = append(statuses, again.Inject(w, httptest.NewRequest(http.MethodPost, "/", nil), f))
	}
	if !slices.Equal(statuses, []bool{false, true, false, true}) {
		t.Errorf("after a restart, faults %v; want every second submission throttled", statuses)
	}
	if o := again.Order(t.Context(), "s1", "", 7); o == nil || !slices.Equal(o, f.Order(t.Context(), "s1", "", 7)) {
		t.Errorf("order %v after a restart; want the same shuffle as before", o)
	}
	if o := again.Order(t.Context(), "s2", "", 7); o != nil {
		t.Errorf("another sandbox's feed is shuffled: %v", o)
	}
	// Settings the store refuses to keep are not applied.
	store.fail = true
	if w := putSettings(t, f, "s1", `{}`); w.Code != 500 || !strings.Contains(w.Body.String(), "OperationOutcome") {
		t.Fatalf("a store that fails: %d %s", w.Code, w.Body)
	}
	if w := putSettings(t, f, "s1", `{"nonce_every":-1}`); w.Code != 422 {
		t.Fatalf("nonce_every -1: %d", w.Code)
	}
}

// TestFaults_OrderShufflesWithinWindowsOnly: every entry is served once,
// none leaves its window, and the same page and seed give the same order.
func TestFaults_OrderShufflesWithinWindowsOnly(t *testing.T) {
	f := vkp.NewFaults(vkp.ID, nil, connectors.Deps{})
	if w := putSettings(t, f, "s1", `{"shuffle_window":4,"shuffle_seed":1}`); w.Code != 200 {
		t.Fatal(w.Code)
	}
	o := f.Order(t.Context(), "s1", "cursor-a", 10)
	if !slices.Equal(o, f.Order(t.Context(), "s1", "cursor-a", 10)) {
		t.Fatal("the same page is ordered differently")
	}
	seen := map[int]bool{}
	for i, j := range o {
		if i/4 != j/4 || seen[j] {
			t.Fatalf("order %v: entry %d left its window or came twice", o, j)
		}
		seen[j] = true
	}
	if slices.IsSorted(o) {
		t.Errorf("order %v is not shuffled", o)
	}
	if got := vkp.Reorder(o, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}); len(got) != 10 || got[0] != string(rune('a'+o[0])) {
		t.Errorf("Reorder: %v", got)
	}
}

// TestFaults_NonceChallengeIsForDPoPCallersOnly: an open sandbox's caller
// has no nonce to rotate; a DPoP caller is challenged with the nonce its
// proof carried.
func TestFaults_NonceChallengeIsForDPoPCallersOnly(t *testing.T) {
	f := vkp.NewFaults(vkp.ID, nil, connectors.Deps{})
	if w := putSettings(t, f, "s1", `{"nonce_every":1}`); w.Code != 200 {
		t.Fatal(w.Code)
	}
	open, _ := f.Next(t.Context(), connectors.Caller{Sandbox: "s1"})
	if f.Inject(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil), open) {
		t.Fatal("an open caller was challenged for a DPoP nonce")
	}
	dpop := connectors.Caller{Sandbox: "s1", Token: true, DPoP: true, Grant: &smart.Grant{DPoPKey: "jkt"}}
	fault, _ := f.Next(t.Context(), dpop)
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	// A proof's payload {"nonce":"n-1"} (the gateway verified its signature).
	r.Header.Set("DPoP", "e30.eyJub25jZSI6Im4tMSJ9.c2ln")
	w := httptest.NewRecorder()
	if !f.Inject(w, r, fault) || w.Code != 401 || w.Header().Get("DPoP-Nonce") != "n-1" ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) || !strings.Contains(w.Body.String(), "OperationOutcome") {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

// FuzzNonceChallenge: whatever DPoP header a request carries, the nonce
// fault answers 401 with a challenge and a DPoP-Nonce of NQCHARs only, and
// never panics.
func FuzzNonceChallenge(f *testing.F) {
	f.Add("e30.eyJub25jZSI6Im4tMSJ9.c2ln")
	f.Add("e30.eyJub25jZSI6ImFcclxuU2V0LUNvb2tpZTogeCJ9.c2ln") // {"nonce":"a\r\nSet-Cookie: x"}
	f.Add("")
	f.Add("...")
	f.Add("a.b")
	faults := vkp.NewFaults(vkp.ID, nil, connectors.Deps{})
	if w := putSettings(f, faults, "s1", `{"nonce_every":1}`); w.Code != 200 {
		f.Fatal(w.Code)
	}
	dpop := connectors.Caller{Sandbox: "s1", Token: true, DPoP: true, Grant: &smart.Grant{DPoPKey: "jkt"}}
	f.Fuzz(func(t *testing.T, header string) {
		fault, _ := faults.Next(t.Context(), dpop)
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header["DPoP"] = []string{header}
		w := httptest.NewRecorder()
		if !faults.Inject(w, r, fault) || w.Code != 401 {
			t.Fatalf("no challenge: %d", w.Code)
		}
		n := w.Header().Get("DPoP-Nonce")
		if n == "" || strings.ContainsAny(n, "\r\n \"\\") {
			t.Fatalf("DPoP-Nonce %q", n)
		}
	})
}
