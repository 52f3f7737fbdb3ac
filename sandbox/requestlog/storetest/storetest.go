// Package storetest is the behavioural suite every requestlog.Store must
// pass: a backend's test calls Run with a factory for fresh stores. Adding
// a backend means making this suite pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"hpsandbox/sandbox/requestlog"
)

// Factory returns a new, empty store keeping perSandboxMax entries per
// sandbox. The factory arranges its closing with t.Cleanup.
type Factory func(t *testing.T, perSandboxMax int) requestlog.Store

// Run runs the whole suite.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore Factory)
	}{
		{"Append_AssignsIncreasingIDs", testIDs},
		{"Append_IDsAreThoseQueryAnswers", testIDsMatchQuery},
		{"Query_RoundTripsEveryField", testRoundTrip},
		{"Query_NewestFirst", testNewestFirst},
		{"Query_Filters_MatchAsSpecified", testFilters},
		{"Query_BadFilter_ReturnsErrBadFilter", testBadFilter},
		{"Query_Limit_DefaultsAndCaps", testLimits},
		{"Query_Paging_FollowsCursorToTheEnd", testPaging},
		{"Query_Paging_StableUnderLaterAppends", testPagingUnderAppends},
		{"Query_UnknownSandbox_EmptyPage", testUnknownSandbox},
		{"Append_DoesNotShareIssuesWithCaller", testNoSharing},
		{"Bound_KeepsNewestPerSandbox", testBound},
		{"Bound_SandboxesAreIndependent", testBoundIndependent},
		{"DeleteSandbox_RemovesOnlyThatSandbox", testDeleteSandbox},
		{"Concurrent_AppendAndQuery", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// entry returns the i-th entry of a sandbox, a second after the previous.
func entry(sandbox string, i int) requestlog.Entry {
	return requestlog.Entry{
		Sandbox:  sandbox,
		Time:     t0.Add(time.Duration(i) * time.Second),
		ClientID: "app",
		Method:   "GET",
		Path:     fmt.Sprintf("/fhir/Patient/%d", i),
		Status:   200,
		Latency:  time.Millisecond,
	}
}

func appendAll(t *testing.T, s requestlog.Store, entries ...requestlog.Entry) []requestlog.Entry {
	t.Helper()
	if err := s.Append(context.Background(), entries); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return entries
}

func query(t *testing.T, s requestlog.Store, f requestlog.Filter) requestlog.Page {
	t.Helper()
	p, err := s.Query(context.Background(), f)
	if err != nil {
		t.Fatalf("Query(%+v): %v", f, err)
	}
	return p
}

func ids(entries []requestlog.Entry) []int64 {
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.ID
	}
	return out
}

// newestFirst returns the IDs of entries in reverse order of appending.
func newestFirst(entries []requestlog.Entry) []int64 {
	out := ids(entries)
	slices.Reverse(out)
	return out
}

func testIDs(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	a := appendAll(t, s, entry("a", 1), entry("b", 2), entry("a", 3))
	b := appendAll(t, s, entry("b", 4))
	all := append(a, b...)
	for i, e := range all {
		if e.ID <= 0 || i > 0 && e.ID <= all[i-1].ID {
			t.Fatalf("IDs not positive and increasing: %v", ids(all))
		}
	}
}

func testIDsMatchQuery(t *testing.T, newStore Factory) {
	s := newStore(t, 1000)
	batch := make([]requestlog.Entry, 150) // larger than any chunk a backend writes at once
	for i := range batch {
		batch[i] = entry([]string{"a", "b"}[i%3/2], i)
	}
	appendAll(t, s, batch...)
	byPath := map[string]int64{}
	for _, sandbox := range []string{"a", "b"} {
		for _, e := range query(t, s, requestlog.Filter{Sandbox: sandbox, Limit: requestlog.MaxLimit}).Entries {
			byPath[e.Path] = e.ID
		}
	}
	for _, e := range batch {
		if byPath[e.Path] != e.ID {
			t.Fatalf("%s: Append set ID %d, Query answers %d", e.Path, e.ID, byPath[e.Path])
		}
	}
}

func testRoundTrip(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	in := requestlog.Entry{
		Sandbox: "a", Time: t0.Add(123456789 * time.Nanosecond), ClientID: "app-1",
		Method: "POST", Path: "/fhir/Observation", Query: "_format=json&access_token=REDACTED",
		Status: 422, Latency: 1234567 * time.Nanosecond, RequestBytes: 512, ResponseBytes: 2048,
		Issues: []requestlog.Issue{
			{Severity: "error", Code: "required", Diagnostics: "status is required", Expression: "Observation.status"},
			{Severity: "warning", Code: "value", Diagnostics: "ÆØÅ"},
		},
		Scopes: "patient/Observation.cruds openid", RequestID: "req-1",
		Connector: "mtu", Channel: requestlog.ChannelMLLP,
		Accept: "application/fhir+json", Preconditions: "If-Match", RetryAfter: 30 * time.Second,
		// Every fact set, so that one the store forgets shows.
		OAuth: &requestlog.OAuth{Endpoint: "token", ResponseType: "code", PKCEMethod: "S256", Challenge: true,
			StateLen: 36, StateBits: 128, RedirectURI: "https://app.example/cb", RedirectExact: true,
			Scope: "openid fhirUser", Aud: "https://sandbox.example/fhir", AudMatches: true, Launch: true,
			GrantType: "client_credentials", ClientAuth: "private_key_jwt", Verifier: true,
			AssertionAlg: "ES384", AssertionLifetime: 300, AssertionIssSub: true, AssertionJTI: true, JTIReplayed: true,
			Error: "invalid_client"},
		Verdicts: []requestlog.Verdict{{Check: "mtu-msh-complete", Pass: true},
			{Check: "mtu-obx-units", Message: "OBX-6 «mmHg» is not UCUM"}},
	}
	want := appendAll(t, s, in)[0]
	got := query(t, s, requestlog.Filter{Sandbox: "a"}).Entries
	if len(got) != 1 {
		t.Fatalf("got %d entries, want 1", len(got))
	}
	if !got[0].Time.Equal(want.Time) {
		t.Errorf("Time = %v, want %v", got[0].Time, want.Time)
	}
	got[0].Time = want.Time
	if !reflect.DeepEqual(got[0], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[0], want)
	}
}

func testNewestFirst(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	var all []requestlog.Entry
	for i := range 5 {
		all = append(all, appendAll(t, s, entry("a", i), entry("a", i+10))...)
	}
	got := ids(query(t, s, requestlog.Filter{Sandbox: "a"}).Entries)
	if want := newestFirst(all); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func testFilters(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	mk := func(i int, client, method, path string, status int) requestlog.Entry {
		e := entry("a", i)
		e.ClientID, e.Method, e.Path, e.Status = client, method, path, status
		return e
	}
	es := appendAll(t, s,
		mk(0, "app", "GET", "/fhir/Patient/1", 200),
		mk(1, "app", "POST", "/fhir/Observation", 201),
		mk(2, "other", "GET", "/fhir/Observation/9", 404),
		mk(3, "app", "PUT", "/fhir/Patient/1", 412),
		mk(4, "", "GET", "/fhir/metadata", 200),
		mk(5, "other", "DELETE", "/fhir/Patient/2", 500),
	)
	es = append(es, appendAll(t, s, mk(6, "app", "GET", "/fhir/Patient/1", 404))...)
	es[2].RequestID = "never-stored" // appended already: the store's copy has none
	msg := mk(7, "", "ORU^R01", "device-feed", 200)
	msg.RequestID = "req-7"
	msg.Connector, msg.Channel = "mtu", requestlog.ChannelMLLP
	es = append(es, appendAll(t, s, msg)...)
	other := entry("b", 7) // matches most filters, but is of another sandbox
	other.Status = 404
	appendAll(t, s, other)
	id := func(is ...int) []int64 {
		var out []int64
		for _, i := range is {
			out = append(out, es[i].ID)
		}
		slices.Reverse(out)
		return out
	}
	tests := []struct {
		name string
		f    requestlog.Filter
		want []int64
	}{
		{"ClientID", requestlog.Filter{ClientID: "other"}, id(2, 5)},
		{"Method", requestlog.Filter{Method: "GET"}, id(0, 2, 4, 6)},
		{"MethodIsExact", requestlog.Filter{Method: "get"}, nil},
		{"Status", requestlog.Filter{Status: 404}, id(2, 6)},
		{"StatusClass4", requestlog.Filter{StatusClass: 4}, id(2, 3, 6)},
		{"StatusClass2", requestlog.Filter{StatusClass: 2}, id(0, 1, 4, 7)},
		{"StatusClass5", requestlog.Filter{StatusClass: 5}, id(5)},
		{"PathContains", requestlog.Filter{PathContains: "Observation"}, id(1, 2)},
		{"PathContainsIsCaseSensitive", requestlog.Filter{PathContains: "observation"}, nil},
		{"PathContainsNoWildcards", requestlog.Filter{PathContains: "%"}, nil},
		{"SinceInclusive", requestlog.Filter{Since: es[4].Time}, id(4, 5, 6, 7)},
		{"UntilExclusive", requestlog.Filter{Until: es[2].Time}, id(0, 1)},
		{"SinceAndUntil", requestlog.Filter{Since: es[1].Time, Until: es[3].Time}, id(1, 2)},
		{"FarPastAndFuture", requestlog.Filter{Since: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), ClientID: "other"}, id(2, 5)},
		{"Combined", requestlog.Filter{ClientID: "app", StatusClass: 4, PathContains: "Patient"}, id(3, 6)},
		{"Connector", requestlog.Filter{Connector: "mtu"}, id(7)},
		{"ConnectorIsExact", requestlog.Filter{Connector: "mt"}, nil},
		{"RequestID", requestlog.Filter{RequestID: "req-7"}, id(7)},
		{"RequestIDIsExact", requestlog.Filter{RequestID: "req-"}, nil},
		{"RequestIDOnlyAsStored", requestlog.Filter{RequestID: "never-stored"}, nil},
		{"NoMatch", requestlog.Filter{ClientID: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.Sandbox = "a"
			got := ids(query(t, s, tt.f).Entries)
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func testBadFilter(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	for _, f := range []requestlog.Filter{
		{},
		{Sandbox: "a", StatusClass: 6},
		{Sandbox: "a", StatusClass: -1},
		{Sandbox: "a", Limit: -1},
		{Sandbox: "a", Before: -5},
	} {
		if _, err := s.Query(context.Background(), f); !errors.Is(err, requestlog.ErrBadFilter) {
			t.Errorf("Query(%+v) = %v, want ErrBadFilter", f, err)
		}
	}
}

func testLimits(t *testing.T, newStore Factory) {
	s := newStore(t, requestlog.MaxLimit+10)
	batch := make([]requestlog.Entry, requestlog.MaxLimit+5)
	for i := range batch {
		batch[i] = entry("a", i)
	}
	appendAll(t, s, batch...)
	for _, tt := range []struct{ limit, want int }{
		{0, requestlog.DefaultLimit}, {7, 7}, {requestlog.MaxLimit + 1, requestlog.MaxLimit},
	} {
		p := query(t, s, requestlog.Filter{Sandbox: "a", Limit: tt.limit})
		if len(p.Entries) != tt.want || p.Next == 0 {
			t.Errorf("Limit %d: %d entries, next %d; want %d and a next page", tt.limit, len(p.Entries), p.Next, tt.want)
		}
	}
}

// pages follows the cursor from f to the end, calling between after each
// page.
func pages(t *testing.T, s requestlog.Store, f requestlog.Filter, between func()) []int64 {
	t.Helper()
	var got []int64
	for n := 0; ; n++ {
		if n > 100 {
			t.Fatal("paging does not end")
		}
		p := query(t, s, f)
		if len(p.Entries) > f.Limit {
			t.Fatalf("page of %d entries, limit %d", len(p.Entries), f.Limit)
		}
		got = append(got, ids(p.Entries)...)
		if p.Next == 0 {
			return got
		}
		if len(p.Entries) == 0 || p.Next != p.Entries[len(p.Entries)-1].ID {
			t.Fatalf("Next %d is not the last entry's ID (page %v)", p.Next, ids(p.Entries))
		}
		f.Before = p.Next
		if between != nil {
			between()
		}
	}
}

func testPaging(t *testing.T, newStore Factory) {
	for _, n := range []int{0, 1, 5, 6, 7, 13} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := newStore(t, 100)
			var all []requestlog.Entry
			for i := range n {
				e := entry("a", i)
				if i%2 == 1 {
					e.Status = 404
				}
				all = append(all, e)
			}
			appendAll(t, s, all...)
			if got, want := pages(t, s, requestlog.Filter{Sandbox: "a", Limit: 3}, nil), newestFirst(all); !slices.Equal(got, want) {
				t.Fatalf("pages %v, want %v", got, want)
			}
			// With a filter, the cursor skips what the filter rejects.
			var want []int64
			for _, id := range newestFirst(all) {
				if slices.ContainsFunc(all, func(e requestlog.Entry) bool { return e.ID == id && e.Status == 404 }) {
					want = append(want, id)
				}
			}
			if got := pages(t, s, requestlog.Filter{Sandbox: "a", Limit: 2, Status: 404}, nil); !slices.Equal(got, want) {
				t.Fatalf("filtered pages %v, want %v", got, want)
			}
		})
	}
}

func testPagingUnderAppends(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	var all []requestlog.Entry
	for i := range 10 {
		all = append(all, entry("a", i))
	}
	appendAll(t, s, all...)
	i := 100
	got := pages(t, s, requestlog.Filter{Sandbox: "a", Limit: 3}, func() {
		appendAll(t, s, entry("a", i), entry("b", i))
		i++
	})
	if want := newestFirst(all); !slices.Equal(got, want) {
		t.Fatalf("pages %v, want exactly the entries present at the first page %v", got, want)
	}
}

func testUnknownSandbox(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	appendAll(t, s, entry("a", 1))
	p := query(t, s, requestlog.Filter{Sandbox: "nope"})
	if len(p.Entries) != 0 || p.Next != 0 {
		t.Fatalf("got %+v, want an empty last page", p)
	}
}

func testNoSharing(t *testing.T, newStore Factory) {
	s := newStore(t, 100)
	e := entry("a", 1)
	e.Issues = []requestlog.Issue{{Severity: "error", Code: "invalid"}}
	appendAll(t, s, e)
	e.Issues[0].Code = "changed"
	got := query(t, s, requestlog.Filter{Sandbox: "a"}).Entries[0]
	got.Issues[0].Code = "changed again"
	if again := query(t, s, requestlog.Filter{Sandbox: "a"}).Entries[0]; again.Issues[0].Code != "invalid" {
		t.Fatalf("stored issue changed through a caller's slice: %q", again.Issues[0].Code)
	}
}

func testBound(t *testing.T, newStore Factory) {
	const bound = 5
	s := newStore(t, bound)
	var all []requestlog.Entry
	add := func(n int) {
		batch := make([]requestlog.Entry, n)
		for i := range batch {
			batch[i] = entry("a", len(all)+i)
		}
		all = append(all, appendAll(t, s, batch...)...)
	}
	for _, step := range []struct{ add, want int }{
		{3, 3},  // under the bound
		{2, 5},  // at it
		{1, 5},  // one over, in a later batch
		{12, 5}, // a batch larger than the bound
		{2, 5},
	} {
		add(step.add)
		got := ids(query(t, s, requestlog.Filter{Sandbox: "a", Limit: 100}).Entries)
		want := newestFirst(all)[:step.want]
		if !slices.Equal(got, want) {
			t.Fatalf("after %d entries: %v, want the newest %v", len(all), got, want)
		}
	}
}

func testBoundIndependent(t *testing.T, newStore Factory) {
	const bound = 4
	s := newStore(t, bound)
	b := appendAll(t, s, entry("b", 0), entry("b", 1))
	var a []requestlog.Entry
	for i := range 10 {
		// Interleaved in one batch, so that one sandbox's trimming must
		// not count or touch the other's entries.
		a = append(a, appendAll(t, s, entry("a", i), entry("c", i))[0])
	}
	if got, want := ids(query(t, s, requestlog.Filter{Sandbox: "a"}).Entries), newestFirst(a)[:bound]; !slices.Equal(got, want) {
		t.Fatalf("a: %v, want %v", got, want)
	}
	if got, want := ids(query(t, s, requestlog.Filter{Sandbox: "b"}).Entries), newestFirst(b); !slices.Equal(got, want) {
		t.Fatalf("b: %v, want %v (untouched by a's bound)", got, want)
	}
	if got := query(t, s, requestlog.Filter{Sandbox: "c"}).Entries; len(got) != bound {
		t.Fatalf("c: %d entries, want %d", len(got), bound)
	}
}

func testDeleteSandbox(t *testing.T, newStore Factory) {
	const bound = 3
	s := newStore(t, bound)
	ctx := context.Background()
	appendAll(t, s, entry("a", 0), entry("a", 1), entry("a", 2), entry("a", 3))
	b := appendAll(t, s, entry("b", 0))
	if err := s.DeleteSandbox(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSandbox(ctx, "never-seen"); err != nil {
		t.Fatalf("deleting an unknown sandbox: %v", err)
	}
	if got := query(t, s, requestlog.Filter{Sandbox: "a"}).Entries; len(got) != 0 {
		t.Fatalf("a still has %d entries", len(got))
	}
	if got := ids(query(t, s, requestlog.Filter{Sandbox: "b"}).Entries); !slices.Equal(got, ids(b)) {
		t.Fatalf("b: %v, want %v", got, ids(b))
	}
	// The bound starts afresh: a sandbox re-created keeps its first
	// entries, and its IDs still never go back.
	again := appendAll(t, s, entry("a", 10), entry("a", 11))
	if again[0].ID <= b[0].ID {
		t.Fatalf("ID %d reused after delete (last was %d)", again[0].ID, b[0].ID)
	}
	if got := ids(query(t, s, requestlog.Filter{Sandbox: "a"}).Entries); !slices.Equal(got, newestFirst(again)) {
		t.Fatalf("a after re-creation: %v, want %v", got, newestFirst(again))
	}
}

func testConcurrent(t *testing.T, newStore Factory) {
	const bound, writers, batches = 50, 4, 25
	s := newStore(t, bound)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for w := range writers {
		sandbox := fmt.Sprint("s", w%2)
		wg.Go(func() {
			for i := range batches {
				if err := s.Append(ctx, []requestlog.Entry{entry(sandbox, i), entry(sandbox, i)}); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range batches {
				p, err := s.Query(ctx, requestlog.Filter{Sandbox: sandbox, Limit: 10})
				if err != nil {
					errs <- err
					return
				}
				for i := 1; i < len(p.Entries); i++ {
					if p.Entries[i].ID >= p.Entries[i-1].ID {
						errs <- fmt.Errorf("not newest first: %v", ids(p.Entries))
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, sandbox := range []string{"s0", "s1"} {
		if got := query(t, s, requestlog.Filter{Sandbox: sandbox, Limit: 100}).Entries; len(got) != bound {
			t.Errorf("%s: %d entries, want the bound %d", sandbox, len(got), bound)
		}
	}
}
