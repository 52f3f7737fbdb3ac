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

func TestTransaction_FailingEntryRollsBackEverythingAndIsNamed(t *testing.T) {
	tests := []struct {
		name       string
		bad        string
		status     int
		expression string
	}{
		{"invalid resource", `{"resource":{"resourceType":"Patient","id":"x","birthDate":"soon"},"request":{"method":"PUT","url":"Patient/x"}}`, 400, "Bundle.entry[2].resource.Patient.birthDate"},
		{"missing required", `{"resource":{"resourceType":"Observation","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}`, 422, "Bundle.entry[2].resource.Observation.status"},
		{"stale If-Match", `{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2","ifMatch":"W/\"9\""}}`, 412, "Bundle.entry[2]"},
		{"read of unknown", `{"request":{"method":"GET","url":"Patient/nobody"}}`, 404, "Bundle.entry[2]"},
		{"dangling urn:uuid", `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-00000000dead"}},"request":{"method":"POST","url":"Observation"}}`, 400, "Bundle.entry[2]"},
		{"same resource twice", `{"request":{"method":"DELETE","url":"Patient/p1"}}`, 400, "Bundle.entry[2]"},
		{"no request", `{"resource":` + patientP1 + `}`, 400, "Bundle.entry[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t)
			mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
			body := `{"resourceType":"Bundle","type":"transaction","entry":[
			 {"fullUrl":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"New"}]},"request":{"method":"POST","url":"Patient"}},
			 {"resource":` + strings.Replace(patientP1, "Nordmann", "Changed", 1) + `,"request":{"method":"PUT","url":"Patient/p1"}},
			 ` + tt.bad + `]}`
			rec := do(t, e, call{method: "POST", path: "/fhir", body: body})
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			var oo struct {
				ResourceType string
				Issue        []struct {
					Diagnostics string
					Expression  []string
				}
			}
			decode(t, rec, &oo)
			if oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 || len(oo.Issue[0].Expression) == 0 ||
				oo.Issue[0].Expression[0] != tt.expression || !strings.Contains(oo.Issue[0].Diagnostics, "Bundle.entry[2]") {
				t.Errorf("outcome does not name the entry: %s", rec.Body)
			}
			// Nothing of the transaction remains.
			var p struct{ Name []struct{ Family string } }
			decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, http.StatusOK), &p)
			if p.Name[0].Family != "Nordmann" {
				t.Errorf("p1 changed by a rolled-back transaction")
			}
			var list struct{ Total int }
			decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient"}, http.StatusOK), &list)
			if list.Total != 1 {
				t.Errorf("%d patients after rollback, want 1", list.Total)
			}
			var hist struct{ Total int }
			decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/_history"}, http.StatusOK), &hist)
			if hist.Total != 1 {
				t.Errorf("history holds %d versions after rollback, want 1", hist.Total)
			}
		})
	}
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

// The Bundle around the entries is validated while the entries are; its
// error is the answer, before any entry's, and nothing is written.
func TestBundleEndpoint_BundleErrorComesBeforeEntryErrors(t *testing.T) {
	e, _ := newEngine(t)
	for name, body := range map[string]string{
		"transaction, entry without request": `{"resourceType":"Bundle","type":"transaction","foo":1,"entry":[
			{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},{"resource":{"resourceType":"Patient"}}]}`,
		"transaction, dangling urn:uuid": `{"resourceType":"Bundle","type":"transaction","foo":1,"entry":[
			{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-00000000dead"}},"request":{"method":"POST","url":"Observation"}}]}`,
		"transaction, invalid resource": `{"resourceType":"Bundle","type":"transaction","foo":1,"entry":[
			{"resource":{"resourceType":"Patient","birthDate":"soon"},"request":{"method":"POST","url":"Patient"}}]}`,
		"batch, valid entry": `{"resourceType":"Bundle","type":"batch","foo":1,"entry":[
			{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			rec := do(t, e, call{method: "POST", path: "/fhir", body: body})
			var oo struct {
				ResourceType string
				Issue        []struct{ Expression []string }
			}
			decode(t, rec, &oo)
			if rec.Code != http.StatusBadRequest || oo.ResourceType != "OperationOutcome" ||
				len(oo.Issue) != 1 || len(oo.Issue[0].Expression) != 1 || oo.Issue[0].Expression[0] != "Bundle.foo" {
				t.Errorf("status %d: %s, want 400 naming Bundle.foo", rec.Code, rec.Body)
			}
		})
	}
	var list struct{ Total int }
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient"}, http.StatusOK), &list)
	if list.Total != 0 {
		t.Errorf("%d patients written by refused bundles", list.Total)
	}
}

// An invalid resource is the answer even when the transaction would fail
// in the store anyway (here: a conditional create matching two resources,
// which is found first).
func TestTransaction_InvalidEntryComesBeforeWhatTheStoreFinds(t *testing.T) {
	e, _ := newEngine(t)
	for _, id := range []string{"a", "b"} {
		mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/" + id,
			body: `{"resourceType":"Patient","id":"` + id + `","name":[{"family":"Twin"}]}`}, http.StatusCreated)
	}
	body := `{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"family=Twin"}},
	 {"resource":{"resourceType":"Patient","birthDate":"soon"},"request":{"method":"POST","url":"Patient"}}]}`
	rec := do(t, e, call{method: "POST", path: "/fhir", body: body})
	var oo struct {
		Issue []struct{ Expression []string }
	}
	decode(t, rec, &oo)
	if rec.Code != http.StatusBadRequest || len(oo.Issue) == 0 || len(oo.Issue[0].Expression) == 0 ||
		oo.Issue[0].Expression[0] != "Bundle.entry[1].resource.Patient.birthDate" {
		t.Errorf("status %d: %s, want 400 naming Bundle.entry[1]", rec.Code, rec.Body)
	}
	var list struct{ Total int }
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/Patient"}, http.StatusOK), &list)
	if list.Total != 2 {
		t.Errorf("%d patients, want the 2 from before", list.Total)
	}
}

// TestTransaction_ConcurrentIfMatchNeverLosesAnUpdate runs 20 clients that
// each update the same two resources in one transaction guarded by
// If-Match, retrying on 412: every client wins exactly once, and the final
// versions count every win.
func TestTransaction_ConcurrentIfMatchNeverLosesAnUpdate(t *testing.T) {
	e, _ := newEngine(t)
	for _, id := range []string{"a", "b"} {
		mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/" + id, body: `{"resourceType":"Patient","id":"` + id + `"}`}, http.StatusCreated)
	}
	const clients = 20
	errs := make(chan error, clients)
	var conflicts atomicCounter
	for c := 0; c < clients; c++ {
		go func(c int) {
			for attempt := 0; attempt < 200; attempt++ {
				va := do(t, e, call{method: "GET", path: "/fhir/Patient/a"}).Header().Get("ETag")
				vb := do(t, e, call{method: "GET", path: "/fhir/Patient/b"}).Header().Get("ETag")
				body := `{"resourceType":"Bundle","type":"transaction","entry":[` +
					`{"resource":{"resourceType":"Patient","id":"a","gender":"female"},"request":{"method":"PUT","url":"Patient/a","ifMatch":` + jsonString(va) + `}},` +
					`{"resource":{"resourceType":"Patient","id":"b","gender":"male"},"request":{"method":"PUT","url":"Patient/b","ifMatch":` + jsonString(vb) + `}}]}`
				rec := do(t, e, call{method: "POST", path: "/fhir", body: body})
				switch rec.Code {
				case http.StatusOK:
					errs <- nil
					return
				case http.StatusPreconditionFailed:
					conflicts.add()
				default:
					errs <- &httpError{rec.Code, rec.Body.String()}
					return
				}
			}
			errs <- &httpError{0, "client never won"}
		}(c)
	}
	for c := 0; c < clients; c++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a", "b"} {
		rec := mustDo(t, e, call{method: "GET", path: "/fhir/Patient/" + id}, http.StatusOK)
		if got, want := rec.Header().Get("ETag"), `W/"21"`; got != want {
			t.Errorf("Patient/%s ETag %s, want %s: an update was lost (%d conflicts retried)", id, got, want, conflicts.get())
		}
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
