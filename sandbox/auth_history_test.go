package sandbox

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// historyEntries lists the versions of a history Bundle as Type/id/version
// (a deletion as Type/id/-).
func historyEntries(body map[string]any) []string {
	var out []string
	es, _ := body["entry"].([]any)
	for _, e := range es {
		em, _ := e.(map[string]any)
		if r, ok := em["resource"].(map[string]any); ok {
			meta, _ := r["meta"].(map[string]any)
			out = append(out, r["resourceType"].(string)+"/"+r["id"].(string)+"/"+meta["versionId"].(string))
			continue
		}
		req, _ := em["request"].(map[string]any)
		out = append(out, req["url"].(string)+"/-")
	}
	return out
}

// A patient's token reads the versions of a resource that were in its
// patient's compartment, each judged as it was: after Observation/obs-a
// moved to pat-b, pat-a's token has its first version and pat-b's its
// second, in its history and by vread.
func TestGateway_HistoryAtPatientLevel_ShowsTheVersionsThatWereThePatients(t *testing.T) {
	env := newGatewayEnv(t, true)
	clinician, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "user/*.cruds")
	if resp, body := env.fhir(t, http.MethodPut, "/Observation/obs-a", clinician.AccessToken,
		obs("obs-a", "pat-b", "vital-signs", "8867-4", 73)); resp.StatusCode != 200 {
		t.Fatalf("moving obs-a to pat-b: %d %s", resp.StatusCode, diagnostics(body))
	}
	tokA, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	tokB, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-b", "launch/patient", "patient/*.rs")
	tests := []struct {
		name, token, path string
		status            int
		versions          []string
	}{
		{"A's history of obs-a", tokA.AccessToken, "/Observation/obs-a/_history", 200, []string{"Observation/obs-a/1"}},
		{"B's history of obs-a", tokB.AccessToken, "/Observation/obs-a/_history", 200, []string{"Observation/obs-a/2"}},
		{"A's vread of the version that was A's", tokA.AccessToken, "/Observation/obs-a/_history/1", 200, nil},
		{"A's vread of the version that is B's", tokA.AccessToken, "/Observation/obs-a/_history/2", 403, nil},
		{"B's vread of the version that was A's", tokB.AccessToken, "/Observation/obs-a/_history/1", 403, nil},
		{"A's history of Observations", tokA.AccessToken, "/Observation/_history", 200,
			[]string{"Observation/obs-a-lab/1", "Observation/obs-a/1"}},
		{"B's history of Observations", tokB.AccessToken, "/Observation/_history", 200,
			[]string{"Observation/obs-a/2", "Observation/obs-b/1"}},
		{"A's history of Observations, a page at a time", tokA.AccessToken, "/Observation/_history?_count=1", 200,
			[]string{"Observation/obs-a-lab/1 or Observation/obs-a/1"}},
	}
	for _, tt := range tests {
		resp, body := env.fhir(t, http.MethodGet, tt.path, tt.token, "")
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d (%s)", tt.name, resp.StatusCode, tt.status, diagnostics(body))
			continue
		}
		if tt.versions == nil {
			continue
		}
		// Versions stamped in the same millisecond (the fixture writes
		// quickly) come in key order, others newest first: compare the
		// sets, and a page of one against either.
		got := historyEntries(body)
		want := tt.versions
		if len(want) == 1 && strings.Contains(want[0], " or ") {
			if len(got) != 1 || !slices.Contains(strings.Split(want[0], " or "), got[0]) {
				t.Errorf("%s: %v, want one of %s", tt.name, got, want[0])
			}
			continue
		}
		got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tt.name, got, want)
		}
		if want := map[bool]float64{true: 2, false: float64(len(tt.versions))}[strings.Contains(tt.path, "_count=1")]; body["total"] != want {
			t.Errorf("%s: total %v, want %v", tt.name, body["total"], want)
		}
	}
}
