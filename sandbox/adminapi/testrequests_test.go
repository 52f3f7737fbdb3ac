package adminapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
)

// testRequestJSON is what the tests read of a test request.
type testRequestJSON struct {
	ID       string   `json:"id"`
	Supplier string   `json:"supplier"`
	State    string   `json:"state"`
	Sandbox  string   `json:"sandbox"`
	Profiles []string `json:"profiles"`
	Runs     []struct {
		ID     string `json:"id"`
		Passed bool   `json:"passed"`
	} `json:"runs"`
	Decisions []struct {
		Run, Verdict, Comment, By string
		At                        time.Time
		ReportSHA256              string `json:"report_sha256"`
	} `json:"decisions"`
	History []struct {
		From, To, By string
		At           time.Time
	} `json:"history"`
}

// logApp appends exchanges of client in sandbox: a sloppy app (no PKCE,
// a token in the URL) or a careful one.
func (e *env) logApp(sandbox, client string, sloppy bool, at time.Time) {
	e.t.Helper()
	oauth := &requestlog.OAuth{Endpoint: "authorize", ResponseType: "code", StateLen: 36, StateBits: 150,
		RedirectExact: true, AudMatches: true, PKCEMethod: "S256", Challenge: true}
	query := ""
	if sloppy {
		oauth.PKCEMethod, oauth.Challenge = "", false
		query = "access_token=REDACTED"
	}
	err := e.log.Append(context.Background(), []requestlog.Entry{
		{Sandbox: sandbox, Time: at, ClientID: client, Method: "GET", Path: "/auth/authorize", Status: 302, RequestID: "req-" + client + "-1", OAuth: oauth},
		{Sandbox: sandbox, Time: at.Add(time.Second), ClientID: client, Method: "GET", Path: "/sandboxes/" + sandbox + "/fhir/Patient/1",
			Query: query, Status: 200, RequestID: "req-" + client + "-2", Accept: "application/fhir+json"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// fileRequest files a request of alice (supplier acme) and returns its id.
func (e *env) fileRequest(user string) string {
	e.t.Helper()
	var tr testRequestJSON
	e.must(http.StatusCreated, "POST", "/test-requests", user, map[string]any{"product": "Acme Vitals", "kind": "app",
		"contact": "dev@acme.example", "claimed_profiles": []string{"smart-app-patient"}}).json(e.t, &tr)
	if tr.State != "submitted" || tr.ID == "" {
		e.t.Fatalf("filed %+v", tr)
	}
	return tr.ID
}

// acceptedRun is an accepted request of acme with one failing run (of
// the sloppy client) and one passing run (of the careful one).
func acceptedRun(t *testing.T) (e *env, id, failing, passing string) {
	e = newEnv(t)
	e.sandbox(aliceUser, "acme-dev")
	e.sandbox(bobUser, "bravo-dev")
	id = e.fileRequest(aliceUser)
	var tr testRequestJSON
	e.must(http.StatusOK, "POST", "/test-requests/"+id+"/accept", revUser, map[string]any{"sandbox": "acme-dev"}).json(t, &tr)
	if tr.State != "accepted" || tr.Sandbox != "acme-dev" || strings.Join(tr.Profiles, ",") != "smart-app-patient" {
		t.Fatalf("accepted %+v", tr)
	}
	now := time.Now().UTC()
	e.logApp("acme-dev", "sloppy", true, now.Add(-time.Minute))
	e.logApp("acme-dev", "careful", false, now.Add(-time.Minute))
	var rep testReport
	e.must(http.StatusCreated, "POST", "/test-requests/"+id+"/runs", revUser, map[string]any{"client_id": "sloppy", "profile": "smart-app-patient"}).json(t, &rep)
	failing = rep.ID
	if rep.Result != "fail" {
		t.Fatalf("the sloppy run %s", rep.Result)
	}
	e.must(http.StatusCreated, "POST", "/test-requests/"+id+"/runs", revUser, map[string]any{"client_id": "careful", "profile": "smart-app-patient"}).json(t, &rep)
	passing = rep.ID
	return e, id, failing, passing
}

func TestTestRequests_FileAcceptRunApprove(t *testing.T) {
	e, id, failing, passing := acceptedRun(t)
	var tr testRequestJSON
	e.must(http.StatusOK, "GET", "/test-requests/"+id, aliceUser, nil).json(t, &tr)
	if len(tr.Runs) != 2 || tr.Runs[0].ID != failing || tr.Runs[0].Passed {
		t.Fatalf("runs %+v", tr.Runs)
	}

	// The diff names what the careful client fixed.
	var diff struct {
		Counts map[string]int `json:"counts"`
		Checks []struct{ ID, Before, After, Change string }
	}
	e.must(http.StatusOK, "GET", "/test-requests/"+id+"/diff?from="+failing+"&to="+passing, revUser, nil).json(t, &diff)
	changes := map[string]string{}
	for _, c := range diff.Checks {
		changes[c.ID] = c.Before + "→" + c.After + " " + c.Change
	}
	for check, want := range map[string]string{"smart.pkce-s256": "fail→pass fixed", "oauth.no-token-in-url": "fail→pass fixed",
		"smart.state-entropy": "pass→pass unchanged"} {
		if changes[check] != want {
			t.Errorf("%s: %q, want %q", check, changes[check], want)
		}
	}
	if diff.Counts["fixed"] < 2 {
		t.Errorf("counts %v", diff.Counts)
	}
	e.must(http.StatusOK, "GET", "/test-requests/"+id+"/diff?from="+passing+"&to="+failing, aliceUser, nil).json(t, &diff)
	if diff.Counts["new-failure"] < 2 {
		t.Errorf("reversed: counts %v", diff.Counts)
	}

	// Rejecting needs a comment; rejecting keeps the request open.
	if p := e.must(http.StatusUnprocessableEntity, "POST", "/test-requests/"+id+"/runs/"+failing+"/decision", revUser,
		map[string]any{"verdict": "rejected"}).problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "comment" {
		t.Errorf("reject without a comment: %+v", p)
	}
	e.must(http.StatusOK, "POST", "/test-requests/"+id+"/runs/"+failing+"/decision", revUser,
		map[string]any{"verdict": "rejected", "comment": "No PKCE; a token in the URL."}).json(t, &tr)
	if tr.State != "rejected" {
		t.Fatalf("state %s", tr.State)
	}
	before := time.Now().UTC().Add(-time.Second)
	e.must(http.StatusOK, "POST", "/test-requests/"+id+"/runs/"+passing+"/decision", revUser,
		map[string]any{"verdict": "approved", "comment": "Meets the profile."}).json(t, &tr)
	if tr.State != "approved" || len(tr.Decisions) != 2 {
		t.Fatalf("approved %+v", tr)
	}
	d := tr.Decisions[1]
	if d.Run != passing || d.Verdict != "approved" || d.By != revUser || d.At.Before(before) || d.Comment != "Meets the profile." {
		t.Errorf("decision %+v", d)
	}
	last := tr.History[len(tr.History)-1]
	if last.From != "rejected" || last.To != "approved" || last.By != revUser {
		t.Errorf("history %+v", tr.History)
	}

	// The approved report is served as approved: its SHA-256 is the
	// decision's, and the supplier reads it too.
	a := e.must(http.StatusOK, "GET", "/test-requests/"+id+"/runs/"+passing, aliceUser, nil)
	sum := sha256.Sum256(a.body)
	if hex.EncodeToString(sum[:]) != d.ReportSHA256 {
		t.Errorf("the served report hashes to %x, the decision says %s", sum, d.ReportSHA256)
	}
	stored := e.must(http.StatusOK, "GET", "/sandboxes/acme-dev/runs/"+passing, aliceUser, nil)
	if _, h, err := conformance.ContentHash(stored.body); err != nil || h != d.ReportSHA256 {
		t.Errorf("the sandbox's copy hashes to %s (%v), want %s", h, err, d.ReportSHA256)
	}
	if a := e.must(http.StatusOK, "GET", "/test-requests/"+id+"/runs/"+passing+"?format=html", revUser, nil); !strings.Contains(string(a.body), "<html") {
		t.Error("no HTML rendering")
	}

	// Approving twice, or anything after approval, is refused.
	for _, run := range []string{passing, failing} {
		e.must(http.StatusConflict, "POST", "/test-requests/"+id+"/runs/"+run+"/decision", opUser, map[string]any{"verdict": "approved"})
	}
	e.must(http.StatusConflict, "POST", "/test-requests/"+id+"/runs", revUser, map[string]any{"client_id": "careful", "profile": "smart-app-patient"})
	e.must(http.StatusConflict, "POST", "/test-requests/"+id+"/withdraw", aliceUser, nil)
}

func TestTestRequests_RefusedAsAnAttacker(t *testing.T) {
	e, id, failing, passing := acceptedRun(t)
	// Bob's own request, a run in his sandbox that is not of alice's request.
	e.logApp("bravo-dev", "bob-app", false, time.Now().UTC().Add(-time.Minute))
	var other testReport
	e.must(http.StatusCreated, "POST", "/sandboxes/bravo-dev/runs", bobUser, map[string]any{"client_id": "bob-app", "profile": "smart-app-patient"}).json(t, &other)
	bobs := e.fileRequest(bobUser)
	decide := map[string]any{"verdict": "approved", "comment": "ok"}

	for _, tt := range []struct {
		name, user, method, path string
		body                     any
		status                   int
	}{
		{"another supplier reads it", bobUser, "GET", "/test-requests/" + id, nil, 404},
		{"another supplier reads a run", bobUser, "GET", "/test-requests/" + id + "/runs/" + failing, nil, 404},
		{"another supplier diffs", bobUser, "GET", "/test-requests/" + id + "/diff?from=" + failing + "&to=" + passing, nil, 404},
		{"another supplier accepts", bobUser, "POST", "/test-requests/" + bobs + "/accept", map[string]any{"sandbox": "acme-dev"}, 403},
		{"another supplier withdraws", bobUser, "POST", "/test-requests/" + id + "/withdraw", nil, 404},
		{"another supplier runs", bobUser, "POST", "/test-requests/" + id + "/runs", map[string]any{"client_id": "sloppy", "profile": "smart-app-patient"}, 404},
		{"another supplier approves", bobUser, "POST", "/test-requests/" + id + "/runs/" + passing + "/decision", decide, 404},
		{"the supplier approves its own run", aliceUser, "POST", "/test-requests/" + id + "/runs/" + passing + "/decision", decide, 403},
		{"the supplier runs its own request", aliceUser, "POST", "/test-requests/" + id + "/runs", map[string]any{"client_id": "careful", "profile": "smart-app-patient"}, 403},
		{"a reviewer files", revUser, "POST", "/test-requests", map[string]any{"product": "P", "kind": "app", "contact": "a@b.no", "claimed_profiles": []string{"fhir-client"}}, 403},
		{"bound to another supplier's sandbox", revUser, "POST", "/test-requests/" + bobs + "/accept", map[string]any{"sandbox": "acme-dev"}, 422},
		{"a run of another sandbox approved", revUser, "POST", "/test-requests/" + id + "/runs/" + other.ID + "/decision", decide, 404},
		{"a run of another sandbox read", revUser, "GET", "/test-requests/" + id + "/runs/" + other.ID, nil, 404},
		{"a diff with a run of another sandbox", revUser, "GET", "/test-requests/" + id + "/diff?from=" + other.ID + "&to=" + passing, nil, 404},
		{"a run of a profile not accepted", revUser, "POST", "/test-requests/" + id + "/runs", map[string]any{"client_id": "careful", "profile": "fhir-client"}, 422},
		{"an unknown profile claimed", aliceUser, "POST", "/test-requests", map[string]any{"product": "P", "kind": "app", "contact": "a@b.no", "claimed_profiles": []string{"nope"}}, 422},
		{"an unknown field", aliceUser, "POST", "/test-requests", map[string]any{"product": "P", "kind": "app", "contact": "a@b.no", "claimed_profiles": []string{"fhir-client"}, "state": "approved"}, 400},
		{"no credentials", "", "GET", "/test-requests/" + id, nil, 401},
		{"diff without runs", revUser, "GET", "/test-requests/" + id + "/diff", nil, 400},
		{"accepted twice", opUser, "POST", "/test-requests/" + id + "/accept", map[string]any{"sandbox": "acme-dev"}, 409},
	} {
		t.Run(tt.name, func(t *testing.T) { e.must(tt.status, tt.method, tt.path, tt.user, tt.body) })
	}
	var list struct {
		TestRequests []testRequestJSON `json:"test_requests"`
	}
	e.must(http.StatusOK, "GET", "/test-requests", bobUser, nil).json(t, &list)
	if len(list.TestRequests) != 1 || list.TestRequests[0].ID != bobs {
		t.Errorf("bob lists %+v", list.TestRequests)
	}
	e.must(http.StatusOK, "GET", "/test-requests", revUser, nil).json(t, &list)
	if len(list.TestRequests) != 2 {
		t.Errorf("the reviewer lists %d", len(list.TestRequests))
	}
	// Nothing the attacks asked for happened.
	var tr testRequestJSON
	e.must(http.StatusOK, "GET", "/test-requests/"+id, opUser, nil).json(t, &tr)
	if tr.State != "accepted" || len(tr.Decisions) != 0 || len(tr.Runs) != 2 {
		t.Errorf("after the attacks: %+v", tr)
	}
}
