package vkp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"hpsandbox/connectors/vkp"
	"hpsandbox/fixtures"
)

// residents are the personas by municipality code, as their addresses say.
func residents(t *testing.T, h *hub) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range h.search("Patient", "_count=200") {
		b, _ := json.Marshal(p)
		for _, m := range fixtures.Municipalities() {
			if vkp.Resident(b, m) {
				out[m.Code] = append(out[m.Code], p["id"].(string))
			}
		}
	}
	return out
}

func searchIDs(t *testing.T, h *hub, u string) (int, []string) {
	t.Helper()
	status, body, _ := h.do(http.MethodGet, u, nil)
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType, ID string
			}
		}
	}
	_ = json.Unmarshal(body, &b)
	var ids []string
	for _, e := range b.Entry {
		ids = append(ids, e.Resource.ResourceType+"/"+e.Resource.ID)
	}
	return status, ids
}

// TestMunicipality_ReadsAndSearchesAreTheMunicipalitysOwn: the hub serves
// a municipality the Patients resident in it (their home address's
// municipality number) and the episodes and care plans about them, and
// nothing of another municipality's, by id, by search or by identifier.
func TestMunicipality_ReadsAndSearchesAreTheMunicipalitysOwn(t *testing.T) {
	h := newHub(t, vkp.Options{})
	h.seed()
	byMuni := residents(t, h)
	if len(byMuni["5006"]) == 0 || len(byMuni["5001"]) == 0 {
		t.Fatalf("the personas live in %v; want Steinkjer and Trondheim among them", byMuni)
	}
	mine := "persona-home-care"
	elsewhere := byMuni["5001"][0]
	trondheim := municipality(t, "5001")

	// Searches list Steinkjer's own only.
	for _, typ := range []string{"Patient", "EpisodeOfCare", "CarePlan"} {
		status, ids := searchIDs(t, h, h.url("/"+typ+"?_count=100"))
		if status != 200 {
			t.Fatalf("%s: %d", typ, status)
		}
		for _, id := range ids {
			if strings.HasSuffix(id, "/"+elsewhere) || strings.Contains(id, "/"+elsewhere+"-") {
				t.Errorf("Steinkjer's %s search lists %s of Trondheim", typ, id)
			}
		}
		if typ == "Patient" && len(ids) != len(byMuni["5006"]) {
			t.Errorf("Steinkjer's Patients %v, want %v", ids, byMuni["5006"])
		}
	}
	nin := func(id string) string {
		res, err := h.engine.Read(t.Context(), sandbox, "Patient", id)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Identifier []struct{ System, Value string }
		}
		_ = json.Unmarshal(res.Body, &p)
		return url.QueryEscape(p.Identifier[0].System + "|" + p.Identifier[0].Value)
	}
	for _, tt := range []struct {
		name, path string
		status     int
		found      int // entries of a search; -1 for a read
	}{
		{"own patient by id", "/Patient/" + mine, 200, -1},
		{"another municipality's patient by id", "/Patient/" + elsewhere, 404, -1},
		{"another's episode by id", "/EpisodeOfCare/" + elsewhere + "-eoc-1", 404, -1},
		{"another's care plan by id", "/CarePlan/" + elsewhere + "-cp-1", 404, -1},
		{"own patient by identifier", "/Patient?identifier=" + nin(mine), 200, 1},
		{"another's patient by identifier", "/Patient?identifier=" + nin(elsewhere), 200, 0},
		{"another's episodes by patient", "/EpisodeOfCare?patient=Patient/" + elsewhere, 200, 0},
		{"another's care plans by subject", "/CarePlan?subject=Patient/" + elsewhere, 200, 0},
		{"own care plans by subject", "/CarePlan?subject=Patient/" + mine, 200, 1},
		{"_elements would hide the address", "/Patient?_elements=id", 400, -1},
		{"_summary=count", "/Patient?_summary=count", 400, -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.found < 0 {
				status, body, _ := h.do(http.MethodGet, h.url(tt.path), nil)
				if status != tt.status || (status != 200 && !strings.Contains(string(body), "OperationOutcome")) {
					t.Fatalf("%d %.200s; want %d", status, body, tt.status)
				}
				return
			}
			status, ids := searchIDs(t, h, h.url(tt.path))
			if status != tt.status || len(ids) != tt.found {
				t.Fatalf("%d %v; want %d with %d entries", status, ids, tt.status, tt.found)
			}
		})
	}

	// Trondheim's orgnr in the path serves Trondheim's: the patient of
	// Steinkjer is not found there.
	h.muni = trondheim
	if status, _, _ := h.do(http.MethodGet, h.url("/Patient/"+elsewhere), nil); status != 200 {
		t.Errorf("Trondheim's own patient through Trondheim's path: %d", status)
	}
	if status, _, _ := h.do(http.MethodGet, h.url("/Patient/"+mine), nil); status != 404 {
		t.Errorf("Steinkjer's patient through Trondheim's path: %d", status)
	}

	// A token of Steinkjer's is refused on Trondheim's path (403, the
	// hub's OperationOutcome), before anything is read.
	h.caller = token("Acme_Alarm_Steinkjer", true, "nhn:vkp/api/user/Patient.read")
	status, body, _ := h.do(http.MethodGet, h.url("/Patient/"+elsewhere), nil)
	if status != 403 || !strings.Contains(string(body), "OperationOutcome") || !strings.Contains(string(body), "Steinkjer") {
		t.Errorf("Steinkjer's token on Trondheim's path: %d %s", status, body)
	}
	h.muni = municipality(t, "5006")
	if status, _, _ := h.do(http.MethodGet, h.url("/Patient/"+mine), nil); status != 200 {
		t.Errorf("Steinkjer's token on its own patient: %d", status)
	}
}

// TestMunicipality_ASubmittedPersonIsTheReceiversResident: a person the
// sandbox did not know, registered by a submission to Steinkjer, is
// Steinkjer's patient and not Trondheim's.
func TestMunicipality_ASubmittedPersonIsTheReceiversResident(t *testing.T) {
	h := newHub(t, vkp.Options{})
	if status, body, _ := h.post("/Bundle", readFile(t, "alarm.json")); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if status, ids := searchIDs(t, h, h.url("/Patient")); status != 200 || len(ids) != 1 {
		t.Fatalf("Steinkjer's patients: %d %v", status, ids)
	}
	h.muni = municipality(t, "5001")
	if status, ids := searchIDs(t, h, h.url("/Patient")); status != 200 || len(ids) != 0 {
		t.Fatalf("Trondheim's patients: %d %v", status, ids)
	}
}

// TestBasis_PatientSearchReportsABrokenBasisRule: a Patient of the
// municipality that breaks a rule of no-basis-Patient is served, and the
// searchset says so in an OperationOutcome entry (search mode outcome)
// naming the element; the Patient a submission registers conforms.
func TestBasis_PatientSearchReportsABrokenBasisRule(t *testing.T) {
	h := newHub(t, vkp.Options{})
	if status, body, _ := h.post("/Bundle", readFile(t, "alarm.json")); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	outcomes := func() []map[string]any {
		status, body, _ := h.do(http.MethodGet, h.url("/Patient"), nil)
		var b struct {
			Entry []struct {
				Resource map[string]any
				Search   struct{ Mode string }
			}
		}
		if status != 200 || json.Unmarshal(body, &b) != nil {
			t.Fatalf("%d %s", status, body)
		}
		var out []map[string]any
		for _, e := range b.Entry {
			if e.Search.Mode == "outcome" {
				out = append(out, e.Resource)
			}
		}
		return out
	}
	if o := outcomes(); len(o) != 0 {
		t.Fatalf("the registered Patient breaks the basis profile: %v", o)
	}
	broken := `{"resourceType":"Patient","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.2"}],` +
		`"address":[{"use":"home","extension":[{"url":"` + vkp.MunicipalityCodeURL + `","valueCoding":{"system":"urn:oid:2.16.578.1.12.4.1.1.3402","code":"5006"}}]}]}`
	if _, err := h.engine.Create(t.Context(), sandbox, []byte(broken)); err != nil {
		t.Fatal(err)
	}
	o := outcomes()
	if len(o) != 1 || o[0]["resourceType"] != "OperationOutcome" {
		t.Fatalf("outcome entries %v, want one OperationOutcome", o)
	}
	b, _ := json.Marshal(o[0])
	if !strings.Contains(string(b), `"severity":"warning"`) || !strings.Contains(string(b), "Patient.identifier") || !strings.Contains(string(b), "no-basis-Patient") {
		t.Errorf("the outcome %s does not name the broken rule", b)
	}
}
