package portal

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
	"hpsandbox/sandbox/directory"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

func TestPatients_SearchAndPaging(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	// 25 patients of one family name in B's sandbox: two pages of 20 and 5.
	for i := range 25 {
		r, err := fhirjson.Parse(fmt.Appendf(nil, `{"resourceType":"Patient","id":"paging-%02d","name":[{"family":"Sidevender","given":["Nr%02d"]}],"birthDate":"2000-01-%02d"}`, i, i, i+1))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.store.Update(ctx, bravoSandbox, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bob := e.signedIn(t, bobUser)
	base := "/portal/sandboxes/" + bravoSandbox + "/patients"
	first := bob.get(base + "?q=Sidevender")
	wantStatus(t, "first page", first, http.StatusOK)
	wantContains(t, "first page", first, "25 patients matching “Sidevender”", "Next →")
	wantLacks(t, "first page", first, "← Previous", "Ingrid Aune")
	if n := strings.Count(first.body, "Sidevender</a>"); n != patientsPerPage {
		t.Errorf("first page lists %d patients, want %d", n, patientsPerPage)
	}
	next := hrefOf(t, first.body, "Next →")
	if !strings.Contains(next, "q=Sidevender") {
		t.Errorf("next page link %q loses the search", next)
	}
	second := bob.get(next)
	wantStatus(t, "second page", second, http.StatusOK)
	wantContains(t, "second page", second, "← Previous")
	wantLacks(t, "second page", second, "Next →")
	if n := strings.Count(second.body, "Sidevender</a>"); n != 5 {
		t.Errorf("second page lists %d patients, want 5", n)
	}
	seen := map[string]bool{}
	for _, body := range []string{first.body, second.body} {
		for i := range 25 {
			if id := fmt.Sprintf("Patient/paging-%02d<", i); strings.Contains(body, id) {
				if seen[id] {
					t.Errorf("%s on both pages", id)
				}
				seen[id] = true
			}
		}
	}
	if len(seen) != 25 {
		t.Errorf("the pages show %d of the 25 patients", len(seen))
	}

	byID := bob.get(base + "?q=22889406813")
	wantContains(t, "search by national identity number", byID, "Ingrid Aune", "1 patient matching")
	wantStatus(t, "a forged cursor", bob.get(base+"?cursor=garbage"), http.StatusBadRequest)
	wantStatus(t, "a missing patient", bob.get(base+"/no-such-patient"), http.StatusNotFound)
}

// hrefOf returns the href of the link whose text is text.
func hrefOf(t *testing.T, body, text string) string {
	t.Helper()
	i := strings.Index(body, `">`+text+"</a>")
	if i < 0 {
		t.Fatalf("no link %q", text)
	}
	j := strings.LastIndex(body[:i], `href="`)
	return strings.ReplaceAll(body[j+len(`href="`):i], "&amp;", "&")
}

func TestLaunch_RedirectsToTheEHRLaunchEndpoint(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	alice := e.signedIn(t, aliceUser)
	noURL, _, err := e.tenants.RegisterApp(ctx, e.account(t, aliceUser), acmeSandbox, tenant.NewApp{
		Name: "No launch URL", Type: "public", RedirectURIs: []string{"https://nolaunch.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	otherEncounter := encounterNotOf(t, e, acmeSandbox, persona)
	app := func(a *tenant.App) string {
		return "/portal/sandboxes/" + acmeSandbox + "/apps/" + a.ClientID + "/launch/start?"
	}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name   string
		path   string
		status int
		// to is the redirect's query (for 303), or text on the page.
		to   url.Values
		text string
	}{
		{"patient", app(e.acmeApp) + q("patient", persona), 303,
			url.Values{"client_id": {e.acmeApp.ClientID}, "patient": {persona}}, ""},
		{"patient and encounter", app(e.acmeApp) + q("patient", persona, "encounter", personaEncounter), 303,
			url.Values{"client_id": {e.acmeApp.ClientID}, "patient": {persona}, "encounter": {personaEncounter}}, ""},
		{"loopback launch URL", app(e.acmeApp) + q("patient", persona, "launch_url", "http://127.0.0.1:8765/launch"), 303,
			url.Values{"client_id": {e.acmeApp.ClientID}, "patient": {persona}, "launch_url": {"http://127.0.0.1:8765/launch"}}, ""},
		{"no registered launch URL, loopback given", app(noURL) + q("patient", persona, "launch_url", "http://[::1]:9000/l"), 303,
			url.Values{"client_id": {noURL.ClientID}, "patient": {persona}, "launch_url": {"http://[::1]:9000/l"}}, ""},
		{"no launch URL at all", app(noURL) + q("patient", persona), 400, nil, "no registered launch URL"},
		{"launch URL elsewhere", app(e.acmeApp) + q("patient", persona, "launch_url", "https://evil.example/launch"), 400, nil, "loopback"},
		{"another patient's encounter", app(e.acmeApp) + q("patient", persona, "encounter", otherEncounter), 400, nil, "not one of the patient"},
		{"missing encounter", app(e.acmeApp) + q("patient", persona, "encounter", "nope"), 400, nil, "not in the sandbox"},
		{"missing patient", app(e.acmeApp) + q("patient", "nope"), 404, nil, "Not found"},
		{"no patient", app(e.acmeApp), 404, nil, "Not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alice.get(tt.path)
			wantStatus(t, tt.path, got, tt.status)
			if tt.status != http.StatusSeeOther {
				wantContains(t, tt.path, got, tt.text)
				return
			}
			loc, err := url.Parse(got.location())
			if err != nil || loc.Path != launchPathTest || loc.Query().Encode() != tt.to.Encode() {
				t.Errorf("redirect to %q, want %s?%s", got.location(), launchPathTest, tt.to.Encode())
			}
		})
	}
	// A reviewer may launch too: a launch changes no data.
	rev := e.signedIn(t, revUser)
	wantStatus(t, "reviewer launching", rev.get(app(e.acmeApp)+q("patient", persona)), http.StatusSeeOther)
}

// encounterNotOf returns an encounter of the sandbox whose subject is not
// the patient.
func encounterNotOf(t *testing.T, e *env, sandbox, patient string) string {
	t.Helper()
	q, err := search.Parse("Encounter", url.Values{"_count": {"200"}}, search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Search(context.Background(), fhirstore.Sandbox(sandbox), fhirstore.SearchQuery{Type: "Encounter", Query: q})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Matches {
		if e := directory.ParseEncounter(r.Body); e.Subject != "Patient/"+patient {
			return e.ID
		}
	}
	t.Fatal("no encounter of another patient")
	return ""
}

func TestRequestLog_FiltersNewestFirstAndPages(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	client := e.acmeApp.ClientID
	var entries []requestlog.Entry
	for i := range 60 {
		en := requestlog.Entry{Sandbox: acmeSandbox, Time: t0.Add(time.Duration(i) * time.Second), ClientID: client,
			Method: "GET", Path: fmt.Sprintf("/fhir/Patient/p%02d", i), Status: 200, Latency: 1500 * time.Microsecond,
			ResponseBytes: 2048, Scopes: "patient/*.rs launch/patient"}
		switch {
		case i%10 == 3:
			en.Method, en.Path, en.Status, en.RequestBytes = "POST", "/fhir/Observation", 422, 512
			en.Issues = []requestlog.Issue{{Severity: "error", Code: "invalid", Diagnostics: "value is not a valid code", Expression: "Observation.status"}}
		case i%10 == 7:
			en.ClientID, en.Scopes, en.Status = "", "", 401
		case i == 58:
			en.Connector, en.Channel = "example", requestlog.ChannelMLLP
		}
		entries = append(entries, en)
	}
	entries = append(entries, requestlog.Entry{Sandbox: bravoSandbox, Time: t0, Method: "GET", Path: "/fhir/Patient/bravo-secret", Status: 200})
	if err := e.log.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	alice := e.signedIn(t, aliceUser)
	base := "/portal/sandboxes/" + acmeSandbox + "/requests"
	rows := func(p page) int { return strings.Count(p.body, `<td class="nowrap">`) }

	first := alice.get(base)
	wantStatus(t, "log", first, http.StatusOK)
	wantContains(t, "log", first, "2026-03-01 12:00:59 UTC", "/fhir/Patient/p59", "1.5 ms", "2.0 kB", "512 B",
		"value is not a valid code", "Observation.status", `<code class="scope">launch/patient</code>`, "no token", "Older →",
		"connector <code>example</code> over mllp")
	wantLacks(t, "log", first, "bravo-secret", "← Newest entries")
	if n := rows(first); n != requestsPerPage {
		t.Errorf("first page has %d rows, want %d", n, requestsPerPage)
	}
	if strings.Index(first.body, "/fhir/Patient/p59") > strings.Index(first.body, "/fhir/Patient/p58") {
		t.Error("the log is not newest first")
	}
	older := alice.get(hrefOf(t, first.body, "Older →"))
	wantStatus(t, "older page", older, http.StatusOK)
	wantContains(t, "older page", older, "/fhir/Patient/p00", "← Newest entries")
	if n := rows(older); n != 10 {
		t.Errorf("older page has %d rows, want 10", n)
	}

	filters := []struct {
		name, query string
		rows        int
		has, lacks  string
	}{
		{"by client", "client=" + client, 54, "/fhir/Patient/p59", "no token"},
		{"by method", "method=POST", 6, "/fhir/Observation", "/fhir/Patient/"},
		{"by status class", "class=4", 12, "401", "/fhir/Patient/p59"},
		{"by path", "path=Observation", 6, "value is not a valid code", "/fhir/Patient/"},
		{"combined", "class=4&method=GET", 6, "no token", "/fhir/Observation"},
	}
	for _, f := range filters {
		t.Run(f.name, func(t *testing.T) {
			got := alice.get(base + "?" + f.query)
			wantStatus(t, f.query, got, http.StatusOK)
			want := min(f.rows, requestsPerPage)
			if n := rows(got); n != want {
				t.Errorf("%d rows, want %d", n, want)
			}
			wantContains(t, f.query, got, f.has)
			wantLacks(t, f.query, got, f.lacks)
		})
	}
	wantStatus(t, "a status class of 9", alice.get(base+"?class=9"), http.StatusBadRequest)
	wantStatus(t, "a malformed cursor", alice.get(base+"?before=x"), http.StatusBadRequest)

	none := newEnv(t, func(d *Deps, _ string) { d.Requests = nil })
	wantContains(t, "without a log", none.signedIn(t, aliceUser).get(base), "keeps no request log")
}
