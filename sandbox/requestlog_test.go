package sandbox

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"hpsandbox/sandbox/requestlog"
)

// TestRequestLog_RecordsEachSandboxExchangeWithoutSecrets drives a
// supplier's sandbox through the gateway and reads its request log.
func TestRequestLog_RecordsEachSandboxExchangeWithoutSecrets(t *testing.T) {
	env := newGatewayEnv(t, false)
	base, tok := env.supplierSandbox(t, "acme-dev", "acme", nil)
	env.supplierSandbox(t, "bravo-dev", "bravo", nil)
	calls := []struct {
		method, path, token, body string
		status                    int
	}{
		{"PUT", "/Patient/p1", tok, `{"resourceType":"Patient","id":"p1"}`, 201},
		{"GET", "/Patient/p1", tok, "", 200},
		{"GET", "/Patient/missing", tok, "", 404},
		{"GET", "/Observation?code=http://loinc.org|8867-4&access_token=leaked-secret", tok, "", 200},
		{"GET", "/Patient/p1", "", "", 401},
		{"POST", "/Patient", tok, `{"resourceType":"Patient","birthDate":"not-a-date"}`, 400},
	}
	for _, c := range calls {
		resp, body := env.fhirAt(t, base, c.method, c.path, c.token, c.body)
		if resp.StatusCode != c.status {
			t.Fatalf("%s %s: %d %v", c.method, c.path, resp.StatusCode, body)
		}
	}
	env.fhirAt(t, env.srv.URL+"/sandboxes/made-up/fhir", "GET", "/Patient", "", "")
	if err := env.gw.recorder.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := env.gw.requests.Query(context.Background(), requestlog.Filter{Sandbox: "acme-dev", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	// The oldest entry is the backend service's token request, with the
	// authorization server's facts of it.
	if n := len(page.Entries); n != len(calls)+1 {
		t.Fatalf("%d entries, want %d: %+v", n, len(calls)+1, page.Entries)
	}
	token := page.Entries[len(page.Entries)-1]
	page.Entries = page.Entries[:len(page.Entries)-1]
	if o := token.OAuth; o == nil || o.Endpoint != "token" || o.GrantType != "client_credentials" || o.ClientAuth != "private_key_jwt" ||
		o.AssertionAlg != "ES384" || !o.AssertionJTI || o.Error != "" || token.ClientID == "" || token.Scopes != "system/*.cruds" ||
		token.Status != 200 || token.Path != "/auth/token" {
		t.Errorf("token request entry %+v, facts %+v", token, token.OAuth)
	}
	for i, e := range page.Entries {
		c := calls[len(calls)-1-i] // newest first
		path, query, _ := strings.Cut(c.path, "?")
		if e.Method != c.method || e.Path != "/sandboxes/acme-dev/fhir"+path || e.Status != c.status {
			t.Errorf("entry %d: %s %s %d, want %s %s %d", i, e.Method, e.Path, e.Status, c.method, path, c.status)
		}
		if query != "" && (!strings.Contains(e.Query, "code=http") || strings.Contains(e.Query, "leaked-secret")) {
			t.Errorf("query %q: want the search kept and the token redacted", e.Query)
		}
		wantClient := c.token != ""
		if (e.ClientID != "") != wantClient || (wantClient && e.Scopes != "system/*.cruds") {
			t.Errorf("%s %s: client %q scopes %q", c.method, c.path, e.ClientID, e.Scopes)
		}
		if (c.status >= 400) != (len(e.Issues) > 0) {
			t.Errorf("%s %s (%d): issues %+v", c.method, c.path, c.status, e.Issues)
		}
		if e.RequestID == "" || e.Latency <= 0 || e.ResponseBytes <= 0 || e.Time.IsZero() {
			t.Errorf("entry lacks request id, latency, size or time: %+v", e)
		}
		if c.body != "" && e.RequestBytes != int64(len(c.body)) {
			t.Errorf("request bytes %d, want %d", e.RequestBytes, len(c.body))
		}
	}
	if issue := page.Entries[0].Issues[0]; !strings.Contains(issue.Expression+issue.Diagnostics, "birthDate") {
		t.Errorf("the invalid create's issue does not name the element: %+v", issue)
	}
	all, _ := json.Marshal(page.Entries)
	if strings.Contains(string(all), tok) || strings.Contains(string(all), "leaked-secret") {
		t.Error("the log holds a token")
	}
	for _, other := range []string{"bravo-dev", "default", "made-up"} {
		p, err := env.gw.requests.Query(context.Background(), requestlog.Filter{Sandbox: other})
		// bravo-dev's log holds its own token request, and nothing else.
		if other == "bravo-dev" && len(p.Entries) == 1 && p.Entries[0].OAuth != nil && p.Entries[0].ClientID != token.ClientID {
			continue
		}
		if err != nil || len(p.Entries) != 0 {
			t.Errorf("%s's log has %d entries of acme-dev's calls (%v)", other, len(p.Entries), err)
		}
	}
	// Deleting the sandbox deletes its log.
	if err := env.tenants.DeleteSandbox(context.Background(), testOperator, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	if p, _ := env.gw.requests.Query(context.Background(), requestlog.Filter{Sandbox: "acme-dev"}); len(p.Entries) != 0 {
		t.Errorf("%d entries after delete", len(p.Entries))
	}
}
