package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// exportAcrossGateways kicks off a Bulk Data export at gateway 0, polls
// it and downloads its files at gateway 1, and deletes it at gateway 1:
// the job and its files are in the shared database, not in gateway 0.
// Another sandbox's path to the job does not find it.
func exportAcrossGateways(t *testing.T, c *client, fhirBase string) {
	resp, body := c.do(0, http.MethodGet, "/fhir/$export?_type=Patient", http.Header{"Prefer": {"respond-async"}}, "")
	status := strings.TrimPrefix(resp.Header.Get("Content-Location"), strings.TrimSuffix(fhirBase, "/fhir"))
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(status, "/fhir/$export-status/") {
		t.Fatalf("kick-off at gateway 0: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Location"), body)
	}
	var manifest struct {
		Output []struct {
			Type, URL string
			Count     int
		}
	}
	for i := 0; ; i++ {
		resp, body = c.do(1, http.MethodGet, status, nil, "")
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &manifest); err != nil || resp.Header.Get("Expires") == "" {
				t.Fatalf("manifest at gateway 1: %v %s", err, body)
			}
			break
		}
		if resp.StatusCode != http.StatusAccepted || i > 300 {
			t.Fatalf("status at gateway 1: %d %s", resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(manifest.Output) != 1 || manifest.Output[0].Type != "Patient" || manifest.Output[0].Count == 0 {
		t.Fatalf("manifest %+v, want one Patient file", manifest)
	}
	file := strings.TrimPrefix(manifest.Output[0].URL, strings.TrimSuffix(fhirBase, "/fhir"))
	resp, body = c.do(1, http.MethodGet, file, nil, "")
	if lines := strings.Count(body, "\n"); resp.StatusCode != http.StatusOK || lines != manifest.Output[0].Count ||
		resp.Header.Get("Content-Type") != "application/fhir+ndjson" {
		t.Errorf("file at gateway 1: %d, %d lines (manifest %d)", resp.StatusCode, lines, manifest.Output[0].Count)
	}
	for _, path := range []string{"/sandboxes/other" + status, "/sandboxes/other" + file} {
		if resp, _ := c.do(1, http.MethodGet, path, nil, ""); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 404 (or 401)", path, resp.StatusCode)
		}
	}
	if resp, body := c.do(1, http.MethodDelete, status, nil, ""); resp.StatusCode != http.StatusAccepted {
		t.Errorf("DELETE at gateway 1: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.do(0, http.MethodGet, file, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the file at gateway 0 after DELETE at 1: %d, want 404", resp.StatusCode)
	}
}
