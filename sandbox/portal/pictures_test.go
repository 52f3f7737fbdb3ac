package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// TestRequestLog_Timeline_ShowsTheAppsCallsByStatusClass: choosing an app
// draws its calls on a timeline, one mark per call, counted per status
// class in the legend and the accessible description; another sandbox's
// view of the same client id shows none of them.
func TestRequestLog_Timeline_ShowsTheAppsCallsByStatusClass(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	app, _, err := e.tenants.RegisterApp(ctx, e.account(t, aliceUser), acmeSandbox, tenant.NewApp{Name: "Timeline app", Type: "public",
		RedirectURIs: []string{"https://timeline.example/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Add(-30 * time.Minute)
	var entries []requestlog.Entry
	for i, st := range []int{200, 200, 201, 302, 404, 401, 500} {
		entries = append(entries, requestlog.Entry{Sandbox: acmeSandbox, Time: start.Add(time.Duration(i) * time.Minute), ClientID: app.ClientID,
			Method: "GET", Path: "/sandboxes/" + acmeSandbox + "/fhir/Patient", Query: "name=<b>x</b>", Status: st})
	}
	// A call of two days before: left out, and counted.
	entries = append(entries, requestlog.Entry{Sandbox: acmeSandbox, Time: start.Add(-48 * time.Hour), ClientID: app.ClientID,
		Method: "GET", Path: "/sandboxes/" + acmeSandbox + "/fhir/metadata", Status: 200})
	if err := e.log.Append(ctx, entries); err != nil {
		t.Fatal(err)
	}
	alice := e.signedIn(t, aliceUser)
	base := "/portal/sandboxes/" + acmeSandbox + "/requests"
	got := alice.get(base + "?client=" + url.QueryEscape(app.ClientID))
	wantStatus(t, "request log", got, http.StatusOK)
	wantContains(t, "timeline", got, `class="chart timeline"`, "Calls of "+app.ClientID+" over time, by status",
		"1 older not shown", "7 calls from", "3 2xx success, 1 3xx redirect, 2 4xx client error, 1 5xx server error",
		`fill="#c62828"`, "name=&lt;b&gt;x&lt;/b&gt;")
	wantLacks(t, "timeline", got, "<b>x</b>")
	if n := strings.Count(got.body, `<rect x=`) - strings.Count(got.body, `<rect x="4"`); n != 7 {
		t.Errorf("the timeline has %d marks, want 7", n)
	}
	wantContains(t, "no app chosen", alice.get(base), "Choose an app to see its calls on a timeline.")
	wantLacks(t, "no app chosen", alice.get(base), `class="chart timeline"`)

	bob := e.signedIn(t, bobUser)
	other := bob.get("/portal/sandboxes/" + bravoSandbox + "/requests?client=" + url.QueryEscape(app.ClientID))
	wantStatus(t, "B's log filtered by A's app", other, http.StatusOK)
	wantContains(t, "B's log filtered by A's app", other, "No calls to show.", "0 calls")
	wantLacks(t, "B's log filtered by A's app", other, "7 calls")
}

// TestConformance_RunPage_ChartsResultsPerProfile: the run page draws the
// run's results as stacked bars (the profile, then each family of
// checks), the runs page the newest run per profile and app.
func TestConformance_RunPage_ChartsResultsPerProfile(t *testing.T) {
	e := conformanceEnv(t)
	alice := e.signedIn(t, aliceUser)
	runs := "/portal/sandboxes/" + acmeSandbox + "/runs"
	alice.get(runs)
	got := alice.post(runs, url.Values{"client": {e.acmeApp.ClientID}, "profile": {"smart-app-patient"}, "hours": {"24"}})
	if got.status != http.StatusSeeOther {
		t.Fatalf("starting a run: %d", got.status)
	}
	page := alice.get(got.location())
	wantStatus(t, "run page", page, http.StatusOK)
	wantContains(t, "run page", page, `class="chart bars"`, "Results of SMART app, patient-facing", ">pass<", ">fail<", ">warning<", ">skip<")
	wantContains(t, "runs page", alice.get(runs), `class="chart bars"`, "Newest run per profile and app", "SMART app, patient-facing · "+e.acmeApp.ClientID)
}

func TestRunChart_CountsEachOutcomeOnce(t *testing.T) {
	chk := func(id string, sev conformance.Severity) conformance.Check {
		return conformance.Check{ID: id, Severity: sev}
	}
	run := &conformance.Run{Profile: conformance.Profile{Title: "P"}, Outcomes: []conformance.Outcome{
		{Check: chk("smart.a", conformance.SeverityError), Result: conformance.Result{Status: conformance.Pass}},
		{Check: chk("smart.b", conformance.SeverityError), Result: conformance.Result{Status: conformance.Fail}},
		{Check: chk("fhir.c", conformance.SeverityWarning), Result: conformance.Result{Status: conformance.Fail}},
		{Check: chk("fhir.d", conformance.SeverityError), Result: conformance.Result{Status: conformance.Skip}},
	}}
	svg := string(runChart(run))
	for _, want := range []string{"P: 1 pass, 1 fail, 1 warning, 1 skip", "smart.*: 1 pass, 1 fail", "fhir.*: 1 warning, 1 skip"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q:\n%s", want, svg)
		}
	}
}
