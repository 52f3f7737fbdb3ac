package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
)

var population = []string{
	`{"resourceType":"Patient","id":"kari","name":[{"family":"Nordmann","given":["Kari"]}]}`,
	`{"resourceType":"Patient","id":"ola","name":[{"family":"Hansen","given":["Ola"]}]}`,
	`{"resourceType":"Practitioner","id":"lege","name":[{"family":"Lege","given":["Liv"]}]}`,
	observation("hr-kari", "kari", "8867-4", "Heart rate", 72, "/min", "vital-signs"),
	observation("hr-ola", "ola", "8867-4", "Heart rate", 64, "/min", "vital-signs"),
	observation("hba1c-kari", "kari", "4548-4", "HbA1c", 7.1, "%", "laboratory"),
}

func observation(id, patient, loinc, text string, value float64, unit, category string) string {
	return `{"resourceType":"Observation","id":"` + id + `","status":"final",` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"` + category + `"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"` + loinc + `"}],"text":"` + text + `"},` +
		`"subject":{"reference":"Patient/` + patient + `"},"effectiveDateTime":"2024-05-01T08:00:00Z",` +
		`"valueQuantity":{"value":` + strconv.FormatFloat(value, 'f', -1, 64) + `,"unit":"` + unit + `"}}`
}

// gateway runs the sandbox, secured, over a seeded store on loopback.
func gateway(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, raw := range population {
		r, err := fhirjson.Parse([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if _, _, err := store.Update(ctx, fhirstore.DefaultSandbox, r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	cfg := sandbox.Defaults()
	cfg.PublicURL, cfg.Secure = srv.URL, true
	g := sandbox.New(cfg, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { g.Close() })
	h = g
	return srv
}

// submit posts a page's form in the browser and returns the page it ends on.
func submit(t *testing.T, browser *http.Client, at *url.URL, form url.Values) (*http.Response, string) {
	t.Helper()
	u := *at
	u.RawQuery = ""
	resp, err := browser.PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// startApp runs the app against gw until the test ends and returns its URL.
func startApp(t *testing.T, gw *httptest.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--fhir", gw.URL + "/fhir", "--addr", "127.0.0.1:0"}, io.Discard, ready)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case u := <-ready:
		return u
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	return ""
}

// wantVitalsOfKari checks the app's page.
func wantVitalsOfKari(t *testing.T, gw *httptest.Server, page string) {
	t.Helper()
	for _, want := range []string{"Patient/kari", gw.URL + "/fhir/Practitioner/lege", "Heart rate", "72 /min"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	for _, not := range []string{"64 /min", "HbA1c"} {
		if strings.Contains(page, not) {
			t.Errorf("page shows %q, which is not the patient's vital sign:\n%s", not, page)
		}
	}
}

func TestSampleApp_StandaloneLaunchListsThePatientsVitalSignsOnly(t *testing.T) {
	gw := gateway(t)
	appURL := startApp(t, gw)

	// The user's browser: follows redirects between the app and the sandbox.
	browser := &http.Client{}
	resp, err := browser.Get(appURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	at := resp.Request.URL
	session := at.Query().Get("session")
	if at.Path != "/auth/login" || session == "" {
		t.Fatalf("launch ended at %s, want the login page", at)
	}
	resp, _ = submit(t, browser, at, url.Values{"session": {session}, "user": {"Practitioner/lege"}})
	if resp.Request.URL.Path != "/auth/select-patient" {
		t.Fatalf("after login: %s", resp.Request.URL)
	}
	resp, _ = submit(t, browser, resp.Request.URL, url.Values{"session": {session}, "patient": {"kari"}})
	if resp.Request.URL.Path != "/auth/consent" {
		t.Fatalf("after picking: %s", resp.Request.URL)
	}
	resp, page := submit(t, browser, resp.Request.URL, url.Values{"session": {session}, "decision": {"allow"}})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), appURL+"/callback") {
		t.Fatalf("callback: %d at %s: %s", resp.StatusCode, resp.Request.URL, page)
	}
	wantVitalsOfKari(t, gw, page)
	// A replayed callback is refused: the state was used.
	if resp, err := browser.Get(resp.Request.URL.String()); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed callback: %v %v", resp.StatusCode, err)
	}
}

func TestSampleApp_EHRLaunchFromTheSandboxSkipsLoginAndPicker(t *testing.T) {
	gw := gateway(t)
	appURL := startApp(t, gw)
	browser := &http.Client{}
	launch := gw.URL + "/auth/ehr-launch?" + url.Values{
		"client_id": {"sandbox-demo"}, "patient": {"kari"}, "user": {"Practitioner/lege"}, "launch_url": {appURL + "/launch"},
	}.Encode()
	resp, err := browser.Get(launch)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	at := resp.Request.URL
	if at.Path != "/auth/consent" {
		t.Fatalf("EHR launch ended at %s, want the consent page", at)
	}
	resp, page := submit(t, browser, at, url.Values{"session": {at.Query().Get("session")}, "decision": {"allow"}})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), appURL+"/callback") {
		t.Fatalf("callback: %d at %s: %s", resp.StatusCode, resp.Request.URL, page)
	}
	wantVitalsOfKari(t, gw, page)

	for name, q := range map[string]url.Values{
		"unknown patient":       {"client_id": {"sandbox-demo"}, "patient": {"nobody"}},
		"unknown client":        {"client_id": {"nope"}, "patient": {"kari"}},
		"remote launch_url":     {"client_id": {"sandbox-demo"}, "patient": {"kari"}, "launch_url": {"http://evil.example/launch"}},
		"unknown user":          {"client_id": {"sandbox-demo"}, "patient": {"kari"}, "user": {"Practitioner/nobody"}},
		"launch from elsewhere": nil,
	} {
		target := gw.URL + "/auth/ehr-launch?" + q.Encode()
		if q == nil {
			target = appURL + "/launch?iss=http://127.0.0.1:1/fhir&launch=x"
		}
		resp, err := browser.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("%s: %d, want an error", name, resp.StatusCode)
		}
	}
}
