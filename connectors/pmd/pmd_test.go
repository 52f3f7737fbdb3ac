package pmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/connectortest"
	"hpsandbox/connectors/pmd"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/smart"
)

const (
	personNIN = "12883810110"
	realLike  = "05073500186"
	sandbox   = "pmd-test"
)

func measurement(t testing.TB, name string) string {
	b, err := os.ReadFile("../vkp/spec/testdata/valid/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), realLike, personNIN)
}

func upload(muni string, resources ...string) []byte {
	var entries []string
	for i, r := range resources {
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-%012d","resource":%s}`, i+1, r))
	}
	return []byte(`{"resourceType":"Bundle","type":"collection","meta":{"tag":[{"system":"urn:oid:2.16.578.1.12.4.1.1.3402","code":"` + muni +
		`"}]},"entry":[` + strings.Join(entries, ",") + `]}`)
}

type env struct {
	srv    *httptest.Server
	store  fhirstore.Store
	caller connectors.Caller
}

func newEnv(t *testing.T) *env {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rec := requestlog.New(requestlog.NewMemoryStore(0), requestlog.Options{Interval: time.Millisecond})
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	var reg connectors.Registry
	if err := reg.Register(pmd.ID, pmd.Open); err != nil {
		t.Fatal(err)
	}
	set, err := reg.Open(connectors.Deps{Engine: interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"}), Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, caller: connectors.Caller{Sandbox: sandbox}}
	h := set.Handler("/connectors")
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(connectors.WithCaller(r.Context(), e.caller)))
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) post(t *testing.T, path, ctype string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/connectors/pmd"+path, ctype, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestUpload_AndSearchByIdentifier(t *testing.T) {
	e := newEnv(t)
	status, body := e.post(t, "/Bundle", "application/fhir+json", upload("5006", measurement(t, "bloodpressure"), measurement(t, "heartrate"), measurement(t, "bodyweight")))
	if status != 200 {
		t.Fatalf("upload: %d %s", status, body)
	}
	form := url.Values{"patient.identifier": {"urn:oid:2.16.578.1.12.4.1.4.1|" + personNIN}}
	status, body = e.post(t, "/Observation/_search", "application/x-www-form-urlencoded", []byte(form.Encode()))
	var b struct {
		Type  string
		Entry []json.RawMessage
	}
	if status != 200 || json.Unmarshal(body, &b) != nil || b.Type != "searchset" || len(b.Entry) != 3 {
		t.Fatalf("search: %d %s", status, body)
	}
	form.Set("code", "http://loinc.org|8867-4")
	if _, body = e.post(t, "/Observation/_search", "application/x-www-form-urlencoded", []byte(form.Encode())); json.Unmarshal(body, &b) != nil || len(b.Entry) != 1 {
		t.Fatalf("search by code: %s", body)
	}
	other := url.Values{"patient.identifier": {"urn:oid:2.16.578.1.12.4.1.4.1|03854410082"}}
	if _, body = e.post(t, "/Observation/_search", "application/x-www-form-urlencoded", []byte(other.Encode())); json.Unmarshal(body, &b) != nil || len(b.Entry) != 0 {
		t.Fatalf("another person's search finds measurements: %s", body)
	}
}

func TestSearch_Refusals(t *testing.T) {
	e := newEnv(t)
	for _, form := range []string{"", "patient.identifier=" + personNIN, "patient=Patient/x", "patient.identifier=a|b&_revinclude=Observation:patient", "patient.identifier=a|b&patient.identifier=c|d"} {
		if status, body := e.post(t, "/Observation/_search", "application/x-www-form-urlencoded", []byte(form)); status != 400 || !strings.Contains(string(body), "OperationOutcome") {
			t.Errorf("%q: %d %s; want 400", form, status, body)
		}
	}
}

func TestPMD_PassesConnectorSuite(t *testing.T) {
	bp := measurement(t, "bloodpressure")
	connectortest.Run(t, connectortest.Subject{
		ID:   pmd.ID,
		Open: pmd.Open,
		Valid: []connectortest.Request{
			{Method: "POST", Path: "/Bundle", Body: upload("5006", bp)},
			{Method: "POST", Path: "/Bundle", Body: upload("1505", measurement(t, "oxygensat"), measurement(t, "heartrate"))},
		},
		Invalid: []connectortest.Request{
			{Method: "POST", Path: "/Bundle", Body: upload("9999", bp)},
			{Method: "POST", Path: "/Bundle", Body: bytes.Replace(upload("5006", bp), []byte(`"meta":{"tag":[{"system":"urn:oid:2.16.578.1.12.4.1.1.3402","code":"5006"}]},`), nil, 1)},
			{Method: "POST", Path: "/Bundle", Body: bytes.Replace(upload("5006", bp), []byte(`"type":"collection"`), []byte(`"type":"transaction"`), 1)},
			{Method: "POST", Path: "/Bundle", Body: upload("5006", strings.ReplaceAll(bp, personNIN, realLike))},
			{Method: "POST", Path: "/Bundle", Body: upload("5006", measurement(t, "dispense"))},
			{Method: "POST", Path: "/Observation/_search", Body: []byte("patient=Patient/x")},
		},
	})
}

func TestChecks_JudgeUploads(t *testing.T) {
	e := newEnv(t)
	_ = e
	var reg connectors.Registry
	_ = reg.Register(pmd.ID, pmd.Open)
	set, err := reg.Open(connectors.Deps{Engine: interaction.New(e.store, interaction.Config{})})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := set.Get(pmd.ID)
	checks := c.(connectors.CheckConnector).Checks()
	judge := func(body []byte, status int) map[string]string {
		x := &connectors.Exchange{Connector: pmd.ID, Kind: "POST", Path: "/connectors/pmd/Bundle", Status: status, Request: body}
		out := map[string]string{}
		for _, ch := range checks {
			out[ch.ID] = ch.Judge(x).Verdict.String()
		}
		return out
	}
	bp := measurement(t, "bloodpressure")
	for id, v := range judge(upload("5006", bp), 200) {
		if v == "fail" || (v != "pass" && id != "pmd-code-systems") { // measurements use no VKP code system
			t.Errorf("valid upload: %s %s", id, v)
		}
	}
	if v := judge(upload("9999", bp), 422)["pmd-municipality-tag"]; v != "fail" {
		t.Errorf("unknown municipality: %s", v)
	}
	if v := judge(upload("5006", strings.ReplaceAll(bp, personNIN, realLike)), 422)["pmd-synthetic-persons"]; v != "fail" {
		t.Errorf("real-looking number: %s", v)
	}
	if v := judge(upload("5006", bp), 429)["pmd-profiles"]; v != "not-applicable" {
		t.Errorf("throttled upload judged: %s", v)
	}
}

func TestAccess_Tokens(t *testing.T) {
	tok := func(dpop bool, scopes ...string) connectors.Caller {
		g := &smart.Grant{ClientID: "acme-scale", Sandbox: sandbox, Scope: scopes}
		if dpop {
			g.DPoPKey = "thumbprint"
		}
		return connectors.Caller{Sandbox: sandbox, Token: true, ClientID: g.ClientID, Grant: g, DPoP: dpop}
	}
	bp := upload("5006", measurement(t, "bloodpressure"))
	form := []byte("patient.identifier=" + url.QueryEscape("urn:oid:2.16.578.1.12.4.1.4.1|"+personNIN))
	for _, tt := range []struct {
		name         string
		caller       connectors.Caller
		upload, read int
	}{
		{"no token", connectors.Caller{Sandbox: sandbox}, 200, 200},
		{"bearer", tok(false, "nhn:pmd/api/user/Observation.*"), 403, 403},
		{"DPoP, write and read", tok(true, "nhn:pmd/api/user/Observation.write", "nhn:pmd/api/user/Observation.read"), 200, 200},
		{"DPoP, read only", tok(true, "nhn:pmd/api/user/Observation.read"), 403, 200},
		{"DPoP, the hub's scope", tok(true, "nhn:vkp/api/user/Observation.*"), 403, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.caller = tt.caller
			if status, body := e.post(t, "/Bundle", "application/fhir+json", bp); status != tt.upload {
				t.Errorf("upload: %d, want %d: %s", status, tt.upload, body)
			}
			if status, body := e.post(t, "/Observation/_search", "application/x-www-form-urlencoded", form); status != tt.read {
				t.Errorf("search: %d, want %d: %s", status, tt.read, body)
			}
		})
	}
}

// TestAccess_TypesAreReadAsTheyAreJudged: the access rule reads an entry's
// type by its exact member name, as the upload is judged, so a second
// member that differs only in case (which encoding/json would match, last
// one winning) cannot pass a Patient off as an Observation.
func TestAccess_TypesAreReadAsTheyAreJudged(t *testing.T) {
	g := &smart.Grant{ClientID: "acme-scale", Sandbox: sandbox, DPoPKey: "thumbprint",
		Scope: []string{"nhn:pmd/api/user/Observation.write"}}
	e := newEnv(t)
	e.caller = connectors.Caller{Sandbox: sandbox, Token: true, ClientID: g.ClientID, Grant: g, DPoP: true}
	body := upload("5006", measurement(t, "bloodpressure"), `{"resourceType":"Patient","RESOURCETYPE":"Observation"}`)
	status, resp := e.post(t, "/Bundle", "application/fhir+json", body)
	if status != http.StatusForbidden || !strings.Contains(string(resp), "Patient") {
		t.Errorf("upload: %d %s, want 403 naming Patient", status, resp)
	}
	if status, resp := e.post(t, "/Bundle", "application/fhir+json", upload("5006", measurement(t, "bloodpressure"))); status != http.StatusOK {
		t.Errorf("the same caller's plain upload: %d %s", status, resp)
	}
}
