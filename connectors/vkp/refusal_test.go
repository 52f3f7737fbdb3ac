package vkp_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"hpsandbox/connectors/vkp"
	"hpsandbox/fixtures"
)

type refusal struct {
	name   string
	body   []byte
	org    string // the organisation number, "" for the municipality's
	status int    // 0: any 4xx
	where  string // an expression of the OperationOutcome
}

func (r refusal) orgnr(m fixtures.Municipality) string {
	if r.org != "" {
		return r.org
	}
	return m.OrgNumber
}

func refusals(t testing.TB) []refusal {
	alarm := readFile(t, "alarm.json")
	return []refusal{
		{"bad alert code", replace(alarm, `"code": "4.1"`, `"code": "4.99"`), "", 422, "Bundle.entry[0].resource.DetectedIssue.code.coding[0].code"},
		{"bad composition event", replace(alarm, `"code": "0",`, `"code": "2",`), "", 422, "Bundle.entry[2].resource.Composition.event[0].code[0].coding[0].code"},
		{"missing subject", edit(t, alarm, func(b map[string]any) { delete(resource(b, 1), "subject") }), "", 422, "Bundle.entry[1].resource.subject"},
		{"subject by reference only", edit(t, alarm, func(b map[string]any) {
			resource(b, 1)["subject"] = map[string]any{"reference": "Patient/persona-home-care"}
		}), "", 422, "Bundle.entry[1].resource.subject.identifier"},
		{"two persons", edit(t, alarm, func(b map[string]any) {
			resource(b, 2)["subject"] = map[string]any{"identifier": map[string]any{"system": "urn:oid:2.16.578.1.12.4.1.4.1", "value": nurseNIN}}
		}), "", 422, "Bundle.entry[2].resource.subject.identifier"},
		{"real-looking identity number", replace(alarm, personNIN, realLike), "", 422, "Bundle.entry[0].resource.patient.identifier.value"},
		{"unknown orgnr", alarm, "399999999", 404, ""},
		{"orgnr not a number", alarm, "orgnr", 404, ""},
		{"wrong resource in the bundle", edit(t, alarm, func(b map[string]any) {
			resource(b, 0)["resourceType"] = "Procedure"
		}), "", 422, "Bundle.entry[0].resource"},
		{"an alarm without its Composition", edit(t, alarm, func(b map[string]any) {
			b["entry"] = b["entry"].([]any)[:2]
		}), "", 422, "Bundle.entry"},
		{"a batch Bundle", replace(alarm, `"type": "transaction"`, `"type": "batch"`), "", 422, "Bundle.type"},
		{"an empty Bundle", []byte(`{"resourceType":"Bundle","type":"collection","entry":[]}`), "", 422, "Bundle.entry"},
		{"not VKP profile", edit(t, alarm, func(b map[string]any) { delete(resource(b, 1), "participant") }), "", 422, "Bundle.entry[1].resource.Encounter"},
		// What R4 refuses is refused whoever else judged the resource: the
		// hub validates every resource with google/fhir (Parse), and a
		// transaction it cannot vouch for is validated by the engine in
		// full.
		{"an element R4 does not know", edit(t, alarm, func(b map[string]any) { resource(b, 1)["notAnElement"] = true }), "", 422, ""},
		{"a malformed date-time", edit(t, alarm, func(b map[string]any) {
			resource(b, 2)["date"] = "2026-02-30T25:00:00+01:00"
		}), "", 422, ""},
	}
}

func TestSubmissions_Refused(t *testing.T) {
	for _, r := range refusals(t) {
		t.Run(r.name, func(t *testing.T) {
			h := newHub(t, vkp.Options{})
			status, body, _ := h.do(http.MethodPost, h.srv.URL+"/connectors/vkp"+vkp.Base+"/"+r.orgnr(h.muni)+"/Bundle", r.body)
			if status != r.status && (r.status != 0 || status < 400 || status >= 500) {
				t.Fatalf("status %d, want %d: %s", status, r.status, body)
			}
			var oo struct {
				ResourceType string `json:"resourceType"`
				Issue        []struct {
					Diagnostics string
					Expression  []string
				} `json:"issue"`
			}
			if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
				t.Fatalf("answer %s is not an OperationOutcome", body)
			}
			if r.where != "" && !strings.Contains(string(body), `"`+r.where+`"`) {
				t.Errorf("no issue names %s: %s", r.where, body)
			}
			if strings.Contains(string(body), realLike) {
				t.Errorf("the answer repeats the identity number: %s", body)
			}
			if n := h.versions(); n != 0 {
				t.Errorf("a refused submission stored %d versions", n)
			}
		})
	}
}

func TestSubmissions_AllowListedNumberPasses(t *testing.T) {
	h := newHub(t, vkp.Options{Allow: []string{realLike}})
	if status, body, _ := h.post("/Bundle", replace(readFile(t, "alarm.json"), personNIN, realLike)); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
}
