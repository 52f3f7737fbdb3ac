package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"hpsandbox/sandbox/conformance/active"
)

// backendToken is a client_credentials token of the demo backend client,
// whose private key is in keyFile, from the server whose FHIR base is base.
func backendToken(t *testing.T, base, keyFile, scope string) string {
	t.Helper()
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := active.ParseKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := active.Thumbprint(key)
	tokenURL := strings.TrimSuffix(base, "/fhir") + "/auth/token"
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	assertion, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "sandbox-backend", Subject: "sandbox-backend",
		Audience: jwt.Audience{tokenURL}, ID: rand.Text(), IssuedAt: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return out.AccessToken
}

// `devices simulate --as phd` uploads PHD transaction Bundles through a
// secured sandbox's FHIR API with a token: the readings are searchable
// on the patient, and the same run made again (same seed, same --start)
// resends the same uploads and creates nothing twice.
func TestDevicesSimulate_PHDUploadsThroughTheFHIRAPI(t *testing.T) {
	base, keyFile := serveSecured(t)
	root := strings.TrimSuffix(base, "/fhir")
	token := backendToken(t, base, keyFile, "system/*.cruds")
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
	}
	var patients struct {
		Entry []struct {
			Resource struct {
				ID         string
				Identifier []struct{ System, Value string }
			}
		}
	}
	get("Patient?identifier="+url.QueryEscape("urn:oid:2.16.578.1.12.4.1.4.1|")+"&_count=50", &patients)
	var fnr, id string
	for _, e := range patients.Entry {
		for _, i := range e.Resource.Identifier {
			if i.System == "urn:oid:2.16.578.1.12.4.1.4.1" && fnr == "" {
				fnr, id = i.Value, e.Resource.ID
			}
		}
	}
	if fnr == "" {
		t.Fatal("no seeded patient with a national identity number")
	}
	total := func(path string) int {
		var b struct{ Total int }
		get(path+"&_total=accurate", &b)
		return b.Total
	}
	args := []string{"devices", "simulate", "--as", "phd", "--target", root, "--token", token, "--patient", fnr,
		"--device", "bp", "--seed", "5", "--rate", "20", "--duration", "1m", "--readings", "5", "--start", "2026-03-01T08:00:00+01:00"}
	panels := "Observation?subject=Patient/" + id + "&code=" + url.QueryEscape("http://loinc.org|85354-9")
	seeded := total(panels)
	var out, errOut bytes.Buffer
	if err := run(args, nil, &out, &errOut); err != nil {
		t.Fatalf("simulate: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "sent 5 uploads: 5 taken, 0 refused") {
		t.Fatalf("output:\n%s", out.String())
	}
	first := total(panels)
	if first != seeded+5 {
		t.Fatalf("%d blood-pressure panels on the patient after 5 readings, %d before:\n%s", first, seeded, out.String())
	}
	if n := total("Observation?subject=Patient/" + id + "&code=" + url.QueryEscape("urn:iso:std:iso:11073:10101|150020") +
		"&date=" + url.QueryEscape("2026-03-01T08:00:00+01:00")); n != 5 {
		t.Errorf("%d panels in the readings' second by their MDC code, want 5", n)
	}
	var dev struct {
		Entry []struct{ Resource struct{ ID string } }
	}
	get("Device?identifier="+url.QueryEscape("urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680|"), &dev)
	devices := len(dev.Entry)
	if devices == 0 {
		t.Fatal("no PhdDevice stored")
	}
	patientsBefore := total("Patient?identifier=" + url.QueryEscape("urn:oid:2.16.578.1.12.4.1.4.1|"+fnr))

	// The same run again resends the same uploads.
	out.Reset()
	if err := run(args, nil, &out, &errOut); err != nil {
		t.Fatalf("resend: %v\n%s", err, out.String())
	}
	if n := total(panels); n != first {
		t.Errorf("%d panels after a resend, want %d", n, first)
	}
	get("Device?identifier="+url.QueryEscape("urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680|"), &dev)
	if len(dev.Entry) != devices {
		t.Errorf("%d devices after a resend, want %d", len(dev.Entry), devices)
	}
	if n := total("Patient?identifier=" + url.QueryEscape("urn:oid:2.16.578.1.12.4.1.4.1|"+fnr)); n != patientsBefore || n != 1 {
		t.Errorf("%d patients with the identifier after the uploads, want the seeded one", n)
	}

	// Without a token the secured sandbox refuses, and the command says so.
	out.Reset()
	noToken := []string{"devices", "simulate", "--as", "phd", "--target", root, "--patient", fnr, "--device", "scale", "--duration", "10ms"}
	if err := run(noToken, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--token") {
		t.Errorf("without a token: %v\n%s", err, out.String())
	}
	for _, bad := range [][]string{
		{"devices", "simulate", "--as", "phd", "--target", root, "--token", token, "--patient", fnr, "--device", "monitor"},
		{"devices", "simulate", "--as", "hl7fhir", "--patient", fnr},
		{"devices", "simulate", "--as", "phd", "--patient", fnr, "--start", "yesterday"},
	} {
		if err := run(bad, nil, &out, &errOut); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
