package fhirapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type bundleResponse struct {
	ResourceType, Type string
	Entry              []struct {
		FullURL  string
		Resource json.RawMessage
		Response struct {
			Status, Location, Etag string
			Outcome                json.RawMessage
		}
	}
}

const encounterTransaction = `{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"Nordmann"}]},
  "request":{"method":"POST","url":"Patient"}},
 {"fullUrl":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000002","resource":{"resourceType":"Encounter","status":"finished",
   "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
   "subject":{"reference":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000001"}},
  "request":{"method":"POST","url":"Encounter"}},
 {"resource":{"resourceType":"Observation","id":"obs1","status":"final","code":{"text":"puls"},
   "subject":{"reference":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000001"},
   "encounter":{"reference":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000002"}},
  "request":{"method":"PUT","url":"Observation/obs1"}},
 {"request":{"method":"DELETE","url":"Patient/old"}},
 {"request":{"method":"GET","url":"Observation/obs1"}}
]}`

func TestTransaction_ResolvesFullURLsRewritesReferencesAndOrders(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/old", body: strings.Replace(patientP1, `"p1"`, `"old"`, 1)}, http.StatusCreated)
	rec := mustDo(t, e, call{method: "POST", path: "/fhir", body: encounterTransaction}, http.StatusOK)
	var b bundleResponse
	decode(t, rec, &b)
	if b.Type != "transaction-response" || len(b.Entry) != 5 {
		t.Fatalf("response %s", rec.Body)
	}
	// The GET is listed before nothing but runs last (spec order: DELETE,
	// POST, PUT, GET), so it reads the Observation PUT in this transaction.
	wantStatus := []string{"201 Created", "201 Created", "201 Created", "204 No Content", "200 OK"}
	for i, w := range wantStatus {
		if b.Entry[i].Response.Status != w {
			t.Errorf("entry %d status %q, want %q", i, b.Entry[i].Response.Status, w)
		}
	}
	if !strings.Contains(string(b.Entry[4].Resource), `"reference":"Patient/`) {
		t.Errorf("GET entry should return the Observation written in the same transaction: %s", b.Entry[4].Resource)
	}
	patient := strings.TrimSuffix(b.Entry[0].Response.Location, "/_history/1")
	encounter := strings.TrimSuffix(b.Entry[1].Response.Location, "/_history/1")
	if !strings.HasPrefix(patient, "Patient/") || !strings.HasPrefix(encounter, "Encounter/") {
		t.Fatalf("locations %q %q", patient, encounter)
	}
	var obs struct {
		Subject, Encounter struct{ Reference string }
	}
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Observation/obs1"}, http.StatusOK), &obs)
	if obs.Subject.Reference != patient || obs.Encounter.Reference != encounter {
		t.Errorf("references not rewritten: %+v (want %s, %s)", obs, patient, encounter)
	}
	var enc struct{ Subject struct{ Reference string } }
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/" + encounter}, http.StatusOK), &enc)
	if enc.Subject.Reference != patient {
		t.Errorf("encounter subject %q", enc.Subject.Reference)
	}
	mustDo(t, e, call{method: "GET", path: "/fhir/Patient/old"}, http.StatusGone)
}

func TestBatch_EntriesSucceedOrFailIndependently(t *testing.T) {
	e, _ := newEngine(t)
	body := `{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":{"resourceType":"Patient","name":[{"family":"A"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Patient","birthDate":"never"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":` + patientP1 + `,"request":{"method":"PUT","url":"Patient/p1"}},
	 {"request":{"method":"GET","url":"Patient/p1"}},
	 {"request":{"method":"GET","url":"Patient/none"}},
	 {"request":{"method":"PATCH","url":"Patient/p1"}}
	]}`
	rec := mustDo(t, e, call{method: "POST", path: "/fhir", body: body, header: map[string]string{"Prefer": "return=representation"}}, http.StatusOK)
	var b bundleResponse
	decode(t, rec, &b)
	if b.Type != "batch-response" || len(b.Entry) != 6 {
		t.Fatalf("%s", rec.Body)
	}
	want := []string{"201 Created", "400 Bad Request", "201 Created", "200 OK", "404 Not Found", "501 Not Implemented"}
	for i, w := range want {
		if b.Entry[i].Response.Status != w {
			t.Errorf("entry %d: %q, want %q", i, b.Entry[i].Response.Status, w)
		}
		failed := !strings.HasPrefix(w, "2")
		if failed != (b.Entry[i].Response.Outcome != nil) {
			t.Errorf("entry %d: outcome %s", i, b.Entry[i].Response.Outcome)
		}
	}
	if b.Entry[0].Resource == nil || b.Entry[3].Resource == nil {
		t.Error("Prefer: return=representation should carry the resources")
	}
	var list struct{ Total int }
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient"}, http.StatusOK), &list)
	if list.Total != 2 {
		t.Errorf("%d patients, want 2 (the valid entries)", list.Total)
	}
}

func TestBundleEndpoint_RefusesOtherBundlesAndResources(t *testing.T) {
	e, _ := newEngine(t)
	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"collection bundle": {`{"resourceType":"Bundle","type":"collection"}`, 400},
		"not a bundle":      {patientP1, 400},
		"unknown element":   {`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x"},"foo":1}]}`, 400},
		"empty transaction": {`{"resourceType":"Bundle","type":"transaction"}`, 200},
	} {
		t.Run(name, func(t *testing.T) {
			if rec := do(t, e, call{method: "POST", path: "/fhir", body: tc.body}); rec.Code != tc.status {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
		})
	}
}

// FuzzBundle posts arbitrary bodies to the FHIR base. Whatever the input,
// the answer is a 200 response Bundle or a 4xx OperationOutcome; never a
// 5xx, never a panic.
func FuzzBundle(f *testing.F) {
	for _, s := range []string{
		encounterTransaction,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x"}},{"resource":null,"request":{"method":"POST","url":"Patient"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"resource":1,"request":{"method":"POST","url":"Patient"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":{}}`, `{"resourceType":"Bundle","type":"transaction","entry":[1]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":null}`, `[]`, `null`, `{`,
	} {
		f.Add(s)
	}
	e, _ := newEngine(f)
	f.Fuzz(func(t *testing.T, body string) {
		rec := do(t, e, call{method: "POST", path: "/fhir", body: body,
			header: map[string]string{"Content-Type": "application/fhir+json"}})
		var res struct{ ResourceType string }
		ok := json.Unmarshal(rec.Body.Bytes(), &res) == nil
		switch {
		case rec.Code == http.StatusOK && ok && res.ResourceType == "Bundle":
		case rec.Code >= 400 && rec.Code < 500 && ok && res.ResourceType == "OperationOutcome":
		default:
			t.Fatalf("body %q: status %d %s", body, rec.Code, rec.Body)
		}
	})
}
