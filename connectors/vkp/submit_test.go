package vkp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/connectors/vkp"
)

func parseQuery(q string) (url.Values, error) { return url.ParseQuery(q) }

func TestAlarm_RoundTrip_LandsOnThePatient(t *testing.T) {
	h := newHub(t, vkp.Options{})
	status, body, _ := h.post("/Bundle", readFile(t, "alarm.json"))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	pats := h.search("Patient", "identifier=urn:oid:2.16.578.1.12.4.1.4.1|12883810110")
	if len(pats) != 1 {
		t.Fatalf("%d patients with the identifier, want 1 (registered)", len(pats))
	}
	pid := "Patient/" + pats[0]["id"].(string)
	for _, typ := range []string{"Encounter", "Composition"} {
		rs := h.search(typ, "subject="+pid)
		if len(rs) != 1 {
			t.Fatalf("%d %s on %s, want 1", len(rs), typ, pid)
		}
	}
	if rs := h.search("DetectedIssue", "patient="+pid); len(rs) != 1 {
		t.Fatalf("%d DetectedIssue on %s, want 1", len(rs), pid)
	}
	comp := h.search("Composition", "subject="+pid)[0]
	if enc := comp["encounter"].(map[string]any)["reference"].(string); !strings.HasPrefix(enc, "Encounter/") {
		t.Errorf("Composition.encounter = %q, want the stored Encounter", enc)
	}
	_ = json.Valid
}

func TestIDOf(t *testing.T) {
	for _, tt := range []struct{ own, want string }{
		{"urn:uuid:3F0C8A8E-1D2B-4C5E-9F60-7A8B9C0D1E01", "vkp-3f0c8a8e-1d2b-4c5e-9f60-7a8b9c0d1e01"},
		{"urn:uuid:not-a-uuid", "vkp-h-"},
		{"https://supplier.example/alarm/1", "vkp-h-"},
	} {
		got := vkp.IDOf("vkp", tt.own)
		if !strings.HasPrefix(got, tt.want) || len(got) > 64 {
			t.Errorf("IDOf(%q) = %q, want %q…", tt.own, got, tt.want)
		}
	}
	if vkp.IDOf("vkp", "a") == vkp.IDOf("vkp", "b") || vkp.IDOf("vkp", "a") != vkp.IDOf("vkp", "a") {
		t.Error("IDOf is not a stable function of the identifier")
	}
}

func TestSubmissions_ReusedIdentifierForAnotherPersonRefused(t *testing.T) {
	h := newHub(t, vkp.Options{})
	if status, body, _ := h.post("/Bundle", readFile(t, "alarm.json")); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	before := h.versions()
	other := replace(readFile(t, "alarm.json"), personNIN, nurseNIN)
	status, body, _ := h.post("/Bundle", other)
	if status != http.StatusConflict || !strings.Contains(string(body), "another person") {
		t.Fatalf("status %d, want 409: %s", status, body)
	}
	if h.versions() != before {
		t.Fatal("the refused submission stored something")
	}
}
