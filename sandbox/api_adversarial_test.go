package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The probes that once took the server down or answered 500, sent through
// the whole gateway with a system token as a supplier's CI would: each is
// a 400 that names the limit, or an answer.
func TestAdversarial_CostlySearchesAndOddIDs_AreAnsweredNot500(t *testing.T) {
	env := newGatewayEnv(t, true)
	bearer := env.backendToken(t, DemoBackendClientID, "system/*.cruds")
	list := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	repeat := func(key string, n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = key + "=" + url.QueryEscape(f(i))
		}
		return strings.Join(parts, "&")
	}
	tests := []struct {
		name, path string
		status     int
		// issue is the OperationOutcome's issue code, and names a word its
		// diagnostics must hold.
		issue, names string
	}{
		{"_include:iterate=* 200 times", "/Observation?" + repeat("_include:iterate", 200, func(int) string { return "*" }), 200, "", ""},
		{"_sort with 1,000 keys", "/Patient?_sort=" + list(1000, func(i int) string { return []string{"family", "-birthdate", "given", "gender", "_id", "address"}[i%6] }), 400, "too-costly", "MaxSortKeys"},
		{"_sort repeating one key 1,000 times", "/Patient?_sort=" + list(1000, func(int) string { return "-birthdate" }), 200, "", ""},
		{"code= with 497 values", "/Observation?code=" + list(497, func(i int) string { return fmt.Sprintf("http://loinc.org|x%d", i) }), 200, "", ""},
		{"1,000 name= parameters", "/Patient?" + repeat("name", 1000, func(i int) string { return fmt.Sprintf("n%d", i) }), 400, "too-costly", "MaxParameters"},
		{"33,000 _id values", "/Patient?_id=" + list(33000, func(i int) string { return fmt.Sprintf("p%d", i) }), 400, "too-costly", "MaxValues"},
		{"_sort by a token", "/Observation?_sort=code", 200, "", ""},
		{"_sort by a quantity", "/Observation?_sort=-value-quantity", 200, "", ""},
		{"_sort by a uri", "/Patient?_sort=_profile", 200, "", ""},
		{"PUT of id ..", "/Patient/..", 400, "", "id"},
		{"PUT of id .", "/Patient/.", 400, "", "id"},
		{"PUT of id ...", "/Patient/...", 400, "", "id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, body := "GET", ""
			if strings.HasPrefix(tt.name, "PUT") {
				method, body = "PUT", `{"resourceType":"Patient","id":"`+strings.TrimPrefix(tt.path, "/Patient/")+`"}`
			}
			resp, b := env.fhir(t, method, tt.path, bearer, body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.status, diagnostics(b))
			}
			if tt.issue != "" && issueCode(b) != tt.issue {
				t.Errorf("issue %q, want %q", issueCode(b), tt.issue)
			}
			if tt.names != "" && !strings.Contains(diagnostics(b), tt.names) {
				t.Errorf("diagnostics %q do not name %s", diagnostics(b), tt.names)
			}
		})
	}
	// Sorted answers are in order, by each kind of value.
	resp, b := env.fhir(t, "GET", "/Observation?_sort=-value-quantity&_elements=id", bearer, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.StatusCode)
	}
	var got []string
	for _, e := range b["entry"].([]any) {
		got = append(got, e.(map[string]any)["resource"].(map[string]any)["id"].(string))
	}
	if strings.Join(got, ",") != "obs-a,obs-b,obs-a-lab" {
		t.Errorf("_sort=-value-quantity: %v, want obs-a (72), obs-b (64), obs-a-lab (7)", got)
	}
	// Nothing was made under a name of dots.
	for _, path := range []string{"/Patient?_id=..", "/Patient?_id=."} {
		if resp, b := env.fhir(t, "GET", path, bearer, ""); resp.StatusCode == http.StatusOK && b["total"] != float64(0) {
			t.Errorf("%s: total %v, want 0", path, b["total"])
		}
	}
}
