package vkp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/connectors/vkp"
	"hpsandbox/fixtures"
)

// seed loads the personas and the synthetic world into the hub's sandbox.
func (h *hub) seed() {
	h.t.Helper()
	rs, err := fixtures.Generate(fixtures.Options{Personas: true})
	if err != nil {
		h.t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := fixtures.WriteBundle(&buf, rs); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.engine.Transaction(context.Background(), sandbox, buf.Bytes()); err != nil {
		h.t.Fatal(err)
	}
}

func TestRead_PatientsEpisodesCarePlans(t *testing.T) {
	h := newHub(t, vkp.Options{})
	h.seed()
	status, body, hdr := h.do(http.MethodGet, h.url("/Patient/persona-home-care"), nil)
	if status != 200 || !strings.Contains(string(body), `"id":"persona-home-care"`) || hdr.Get("ETag") == "" {
		t.Fatalf("read: %d %s", status, body)
	}
	for _, tt := range []struct {
		method, path, form string
		min                int
	}{
		{"GET", "/EpisodeOfCare?patient=Patient/persona-home-care", "", 2},
		{"GET", "/CarePlan?subject=Patient/persona-home-care", "", 1},
		{"POST", "/Patient/_search", "identifier=" + url.QueryEscape("urn:oid:2.16.578.1.12.4.1.4.1|") + personaNIN(t, h), 1},
		{"GET", "/Patient?_count=2", "", 1}, // Steinkjer has one persona
	} {
		var status int
		var body []byte
		if tt.method == "POST" {
			req, _ := http.NewRequest("POST", h.url(tt.path), strings.NewReader(tt.form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, b.Bytes()
		} else {
			status, body, _ = h.do("GET", h.url(tt.path), nil)
		}
		var bundle struct {
			Type  string `json:"type"`
			Link  []struct{ Relation, URL string }
			Entry []struct {
				FullURL  string          `json:"fullUrl"`
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if status != 200 || json.Unmarshal(body, &bundle) != nil || bundle.Type != "searchset" || len(bundle.Entry) < tt.min {
			t.Fatalf("%s %s: %d %.300s", tt.method, tt.path, status, body)
		}
		for _, e := range bundle.Entry {
			if !strings.HasPrefix(e.FullURL, h.srv.URL+"/connectors/vkp"+vkp.Base+"/"+h.muni.OrgNumber+"/") {
				t.Errorf("fullUrl %s is not the hub's", e.FullURL)
			}
		}
		if !strings.HasPrefix(bundle.Link[0].URL, h.srv.URL+"/connectors/vkp"+vkp.Base) {
			t.Errorf("self link %s is not the hub's", bundle.Link[0].URL)
		}
	}
}

func TestRead_OtherSandboxSeesNothingOfThisOne(t *testing.T) {
	h := newHub(t, vkp.Options{})
	h.seed()
	h.caller.Sandbox = "another"
	if status, body, _ := h.do(http.MethodGet, h.url("/Patient/persona-home-care"), nil); status != 404 {
		t.Fatalf("another sandbox's caller reads the patient: %d %s", status, body)
	}
	status, body, _ := h.do(http.MethodGet, h.url("/EpisodeOfCare"), nil)
	if status != 200 || strings.Contains(string(body), `"entry":[{`) {
		t.Fatalf("another sandbox's caller finds episodes: %d %.200s", status, body)
	}
}

func personaNIN(t *testing.T, h *hub) string {
	res, err := h.engine.Read(t.Context(), sandbox, "Patient", "persona-home-care")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Identifier []struct{ System, Value string }
	}
	_ = json.Unmarshal(res.Body, &p)
	return p.Identifier[0].Value
}

func TestRead_Refusals(t *testing.T) {
	h := newHub(t, vkp.Options{})
	for _, tt := range []struct {
		url    string
		status int
	}{
		{h.url("/Observation"), 404},
		{h.url("/Observation/x"), 404},
		{h.url("/Patient/no-such"), 404},
		{h.srv.URL + "/connectors/vkp" + vkp.Base + "/399999999/Patient", 404},
		{h.url("/Patient?_revinclude=Observation:patient"), 400},
		{h.url("/EpisodeOfCare?_include=EpisodeOfCare:patient"), 400},
	} {
		status, body, _ := h.do("GET", tt.url, nil)
		if status != tt.status || !strings.Contains(string(body), "OperationOutcome") {
			t.Errorf("GET %s: %d, want %d with an OperationOutcome: %s", tt.url, status, tt.status, body)
		}
	}
}
