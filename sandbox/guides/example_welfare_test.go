package guides_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors/helseid/helseidtest"
	"hpsandbox/sandbox/guides"
)

// TestExample_WelfareTechnologyWithHelseIDTokens is the token part of the
// welfare-technology guide (welfare-technology.md) in Go, against a
// started sandbox: a HelseID-style app registered in a secured sandbox,
// a DPoP-bound token (a 30-second private_key_jwt assertion, a DPoP proof,
// the server's nonce challenge), and the guide's own submissions to the
// hub, JFT and PMD with Authorization: DPoP and a fresh proof each; then
// the refusals an attacker meets, and a conformance run of the
// welfare-technology sender profile over what was sent.
func TestExample_WelfareTechnologyWithHelseIDTokens(t *testing.T) {
	base := startSandbox(t)
	ctx := context.Background()
	start := time.Now().Add(-time.Second).UTC()

	// The guide's bodies, as its examples send them.
	alarm := guideBody(t, "welfare-technology.md", "/epj/r4/342858694/Bundle", `"DetectedIssue"`)
	note := guideBody(t, "welfare-technology.md", "/jft/v1/Composition", "Tilsynsnotat")
	upload := guideBody(t, "welfare-technology.md", "/connectors/pmd/Bundle", "collection")

	// 1. A secured sandbox and a HelseID app with the client's public key.
	client, err := helseidtest.New(base)
	if err != nil {
		t.Fatal(err)
	}
	admin(t, base, "POST", "/admin/api/sandboxes", map[string]any{"id": "acme-welfare", "name": "Acme welfare", "supplier": "acme", "seed_patients": 0}, nil)
	scopes := "nhn:vkp/api/user/DetectedIssue.write nhn:vkp/api/user/Encounter.write nhn:vkp/api/user/Composition.write " +
		"nhn:jft/api nhn:pmd/api/user/Observation.write"
	var app struct {
		ClientID string `json:"client_id"`
	}
	admin(t, base, "POST", "/admin/api/sandboxes/acme-welfare/apps", map[string]any{"name": "Acme alarm centre",
		"type": "confidential-asymmetric", "helseid": true, "vkp_id": "Acme_AlarmCentre_5006", "scopes": scopes,
		"jwks": client.JWKS()}, &app)
	client.ClientID = app.ClientID

	// 2. The token: DPoP-bound, after the use_dpop_nonce challenge.
	tok, err := client.Token(ctx, scopes)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", tok.TokenType)
	}

	// 3. The guide's submissions, each with a fresh proof.
	conn := base + "/sandboxes/acme-welfare/connectors"
	hub := conn + "/vkp/epj/r4/342858694"
	if status, body := dpopCall(t, client, "POST", hub+"/Bundle", tok.AccessToken, alarm); status != http.StatusOK {
		t.Fatalf("the alarm with a DPoP token: %d %s", status, body)
	}
	if status, body := dpopCall(t, client, "POST", conn+"/jft/jft/v1/Composition", tok.AccessToken, note); status != http.StatusAccepted {
		t.Fatalf("the JFT note with a DPoP token: %d %s", status, body)
	}
	if status, body := dpopCall(t, client, "POST", conn+"/pmd/Bundle", tok.AccessToken, upload); status != http.StatusOK {
		t.Fatalf("the PMD upload with a DPoP token: %d %s", status, body)
	}

	// 4. What an attacker would try.
	bearer := func(u string) int {
		req, _ := http.NewRequest("POST", u, bytes.NewReader(alarm))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := bearer(hub + "/Bundle"); got != http.StatusUnauthorized {
		t.Errorf("the DPoP-bound token as a bearer token: %d, want 401", got)
	}
	// A proof made for another URL.
	proof, err := client.Proof("POST", hub+"/Patient", client.Nonce(), tok.AccessToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", hub+"/Bundle", bytes.NewReader(alarm))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Authorization", "DPoP "+tok.AccessToken)
	req.Header.Set("DPoP", proof)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a proof for another URL: %d, want 401", resp.StatusCode)
	}
	// Trondheim's address with a token whose vkp-id names Steinkjer.
	if status, _ := dpopCall(t, client, "POST", conn+"/vkp/epj/r4/340054598/Bundle", tok.AccessToken, alarm); status != http.StatusForbidden {
		t.Errorf("another municipality's hub: %d, want 403", status)
	}
	// The token at the default sandbox's hub.
	if status, _ := dpopCall(t, client, "POST", base+"/connectors/vkp/epj/r4/342858694/Bundle", tok.AccessToken, alarm); status != http.StatusUnauthorized {
		t.Errorf("acme-welfare's token at the default sandbox: %d, want 401", status)
	}
	// A scope the app was not given: reading the hub's patients.
	if status, _ := dpopCall(t, client, "GET", hub+"/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|29903704606", tok.AccessToken, nil); status != http.StatusForbidden {
		t.Errorf("a read without nhn:vkp/api/user/Patient.read: %d, want 403", status)
	}

	// 5. Where the results appear: the alarm on Astrid in the sandbox's
	// store, and a run of the sender profile over the app's exchanges.
	var report struct {
		ResourceType string `json:"resourceType"`
		Status       string `json:"status"`
		Test         []struct {
			Name string `json:"name"`
		} `json:"test"`
	}
	admin(t, base, "POST", "/admin/api/sandboxes/acme-welfare/runs", map[string]any{"client_id": app.ClientID,
		"profile": "vkp-sender", "since": start.Format(time.RFC3339)}, &report)
	if report.ResourceType != "TestReport" || report.Status != "completed" || len(report.Test) == 0 {
		t.Errorf("the vkp-sender run: %+v", report)
	}
}

// guideBody returns the body of the first example of file that sends to
// a URL containing path and whose body contains marker.
func guideBody(t *testing.T, file, path, marker string) []byte {
	t.Helper()
	ex, err := loadGuides(t).Examples()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ex {
		if e.File != file {
			continue
		}
		r, err := guides.ParseCurl(e.Command, guides.DefaultBase, map[string]string{"LOC": "/x"})
		if err == nil && strings.Contains(r.URL, path) && strings.Contains(r.Body, marker) {
			return []byte(r.Body)
		}
	}
	t.Fatalf("%s has no example sending to %s", file, path)
	return nil
}

// dpopCall sends a request with the client's DPoP proof (following a
// nonce challenge) and returns the status and body.
func dpopCall(t *testing.T, c *helseidtest.Client, method, u, token string, body []byte) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := c.Do(req, token)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
