package interaction_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

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

// reference returns the reference of element (subject, encounter) in body.
func reference(t *testing.T, body []byte, element string) string {
	t.Helper()
	var m map[string]json.RawMessage
	var ref struct{ Reference string }
	if err := json.Unmarshal(body, &m); err != nil || json.Unmarshal(m[element], &ref) != nil {
		t.Fatalf("%s in %s", element, body)
	}
	return ref.Reference
}

func TestTransaction_ResolvesFullURLsRewritesReferencesAndOrders(t *testing.T) {
	f := newFixture(t)
	f.put(strings.Replace(patientP1, `"p1"`, `"old"`, 1))
	b, err := f.bundle(encounterTransaction, false)
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != "transaction-response" || len(b.Entry) != 5 {
		t.Fatalf("response %+v", b)
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
	if b.Entry[0].FullURL != base+"/"+patient {
		t.Errorf("fullUrl %q, want under the configured base", b.Entry[0].FullURL)
	}
	obs, err := f.read("Observation", "obs1")
	if err != nil {
		t.Fatal(err)
	}
	if s, e := reference(t, obs.Body, "subject"), reference(t, obs.Body, "encounter"); s != patient || e != encounter {
		t.Errorf("references not rewritten: %s, %s (want %s, %s)", s, e, patient, encounter)
	}
	enc, err := f.read("Encounter", strings.TrimPrefix(encounter, "Encounter/"))
	if err != nil {
		t.Fatal(err)
	}
	if s := reference(t, enc.Body, "subject"); s != patient {
		t.Errorf("encounter subject %q", s)
	}
	var gone *fhirstore.GoneError
	if _, err := f.read("Patient", "old"); !errors.As(err, &gone) {
		t.Errorf("Patient/old: %v, want deleted", err)
	}
}

func TestTransaction_FailingEntryRollsBackEverythingAndIsNamed(t *testing.T) {
	tests := []struct {
		name       string
		bad        string
		cat        outcome.Category
		expression string
	}{
		{"invalid resource", `{"resource":{"resourceType":"Patient","id":"x","birthDate":"soon"},"request":{"method":"PUT","url":"Patient/x"}}`, outcome.Incorrect, "Bundle.entry[2].resource.Patient.birthDate"},
		{"missing required", `{"resource":{"resourceType":"Observation","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}`, outcome.Unprocessable, "Bundle.entry[2].resource.Observation.status"},
		{"stale If-Match", `{"resource":{"resourceType":"Patient","id":"p2"},"request":{"method":"PUT","url":"Patient/p2","ifMatch":"W/\"9\""}}`, outcome.PreconditionFailed, "Bundle.entry[2]"},
		{"read of unknown", `{"request":{"method":"GET","url":"Patient/nobody"}}`, outcome.Missing, "Bundle.entry[2]"},
		{"dangling urn:uuid", `{"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:00000000-0000-4000-8000-00000000dead"}},"request":{"method":"POST","url":"Observation"}}`, outcome.Incorrect, "Bundle.entry[2]"},
		{"same resource twice", `{"request":{"method":"DELETE","url":"Patient/p1"}}`, outcome.Incorrect, "Bundle.entry[2]"},
		{"no request", `{"resource":` + patientP1 + `}`, outcome.Incorrect, "Bundle.entry[2]"},
		{"url the router refuses", `{"request":{"method":"GET","url":"Patient/a_b"}}`, outcome.Incorrect, "Bundle.entry[2]"},
		{"url that fits no entry", `{"request":{"method":"POST","url":"Patient/p9"},"resource":{"resourceType":"Patient"}}`, outcome.Incorrect, "Bundle.entry[2]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.put(patientP1)
			_, err := f.bundle(`{"resourceType":"Bundle","type":"transaction","entry":[
			 {"fullUrl":"urn:uuid:9a3c1c7e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","name":[{"family":"New"}]},"request":{"method":"POST","url":"Patient"}},
			 {"resource":`+strings.Replace(patientP1, "Nordmann", "Changed", 1)+`,"request":{"method":"PUT","url":"Patient/p1"}},
			 `+tt.bad+`]}`, false)
			if category(err) != tt.cat {
				t.Fatalf("got %v, want %s", err, tt.cat)
			}
			is := issue(t, err)
			if len(is.Expression) == 0 || is.Expression[0] != tt.expression || !strings.Contains(is.Diagnostics, "Bundle.entry[2]") {
				t.Errorf("outcome does not name the entry: %+v", is)
			}
			// Nothing of the transaction remains.
			if p, err := f.read("Patient", "p1"); err != nil || !strings.Contains(string(p.Body), "Nordmann") {
				t.Errorf("p1 changed by a rolled-back transaction: %v", err)
			}
			if n := f.count("Patient", ""); n != 1 {
				t.Errorf("%d patients after rollback, want 1", n)
			}
			if n := f.versions(); n != 1 {
				t.Errorf("history holds %d versions after rollback, want 1", n)
			}
		})
	}
}

func TestBatch_EntriesSucceedOrFailIndependently(t *testing.T) {
	f := newFixture(t)
	b, err := f.bundle(`{"resourceType":"Bundle","type":"batch","entry":[
	 {"resource":{"resourceType":"Patient","name":[{"family":"A"}]},"request":{"method":"POST","url":"Patient"}},
	 {"resource":{"resourceType":"Patient","birthDate":"never"},"request":{"method":"POST","url":"Patient"}},
	 {"resource":`+patientP1+`,"request":{"method":"PUT","url":"Patient/p1"}},
	 {"request":{"method":"GET","url":"Patient/p1"}},
	 {"request":{"method":"GET","url":"Patient/none"}},
	 {"request":{"method":"PATCH","url":"Patient/p1"}}
	]}`, true)
	if err != nil {
		t.Fatal(err)
	}
	if b.Type != "batch-response" || len(b.Entry) != 6 {
		t.Fatalf("%+v", b)
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
		t.Error("representation should carry the resources")
	}
	if n := f.count("Patient", ""); n != 2 {
		t.Errorf("%d patients, want 2 (the valid entries)", n)
	}
}

func TestBundle_RefusesOtherBundlesAndResources(t *testing.T) {
	f := newFixture(t)
	for name, tc := range map[string]struct {
		body string
		cat  outcome.Category
	}{
		"collection bundle": {`{"resourceType":"Bundle","type":"collection"}`, outcome.Incorrect},
		"not a bundle":      {patientP1, outcome.Incorrect},
		"unknown element":   {`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x"},"foo":1}]}`, outcome.Incorrect},
		"not JSON":          {`{`, outcome.Incorrect},
		"empty transaction": {`{"resourceType":"Bundle","type":"transaction"}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := f.bundle(tc.body, false); category(err) != tc.cat {
				t.Errorf("got %v, want %q", err, tc.cat)
			}
		})
	}
}

// The Bundle around the entries is validated while the entries are; its
// error is the answer, before any entry's, and nothing is written.
func TestBundle_BundleErrorComesBeforeEntryErrors(t *testing.T) {
	f := newFixture(t)
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
			_, err := f.bundle(body, false)
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category != outcome.Incorrect ||
				len(oe.Issues) != 1 || len(oe.Issues[0].Expression) != 1 || oe.Issues[0].Expression[0] != "Bundle.foo" {
				t.Errorf("got %v, want incorrect naming Bundle.foo", err)
			}
		})
	}
	if n := f.count("Patient", ""); n != 0 {
		t.Errorf("%d patients written by refused bundles", n)
	}
}

// Alone, a transaction writes its entries as they are validated; beside
// another it validates them all before it takes the writer. The outcome is
// the same.
func TestTransaction_BesideAnotherTransaction_SameOutcomes(t *testing.T) {
	defer interaction.BesideAnotherTransaction()()
	t.Run("resolves, rewrites and orders", TestTransaction_ResolvesFullURLsRewritesReferencesAndOrders)
	t.Run("failing entry rolls back", TestTransaction_FailingEntryRollsBackEverythingAndIsNamed)
	t.Run("Bundle error first", TestBundle_BundleErrorComesBeforeEntryErrors)
	t.Run("invalid entry first", TestTransaction_InvalidEntryComesBeforeWhatTheStoreFinds)
	t.Run("conditional entries", TestTransaction_ConditionalEntriesAndReferences)
	t.Run("conditional references", TestTransaction_AmbiguousOrMissingConditionalReferenceFailsWhole)
}

// An invalid resource is the answer even when the transaction would fail
// in the store anyway (here: a conditional create matching two resources,
// which is found first).
func TestTransaction_InvalidEntryComesBeforeWhatTheStoreFinds(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"a", "b"} {
		f.put(`{"resourceType":"Patient","id":"` + id + `","name":[{"family":"Twin"}]}`)
	}
	_, err := f.bundle(`{"resourceType":"Bundle","type":"transaction","entry":[
	 {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient","ifNoneExist":"family=Twin"}},
	 {"resource":{"resourceType":"Patient","birthDate":"soon"},"request":{"method":"POST","url":"Patient"}}]}`, false)
	if is := issue(t, err); category(err) != outcome.Incorrect || len(is.Expression) == 0 || is.Expression[0] != "Bundle.entry[1].resource.Patient.birthDate" {
		t.Errorf("got %v, want incorrect naming Bundle.entry[1]", err)
	}
	if n := f.count("Patient", ""); n != 2 {
		t.Errorf("%d patients, want the 2 from before", n)
	}
}

// TestTransaction_ConcurrentIfMatchNeverLosesAnUpdate runs 20 clients that
// each update the same two resources in one transaction guarded by
// If-Match, retrying on a precondition failure: every client wins exactly
// once, and the final versions count every win.
func TestTransaction_ConcurrentIfMatchNeverLosesAnUpdate(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"a", "b"} {
		f.put(`{"resourceType":"Patient","id":"` + id + `"}`)
	}
	const clients = 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			for range 1000 {
				a, errA := f.read("Patient", "a")
				b, errB := f.read("Patient", "b")
				if err := errors.Join(errA, errB); err != nil {
					errs <- err
					return
				}
				_, err := f.bundle(`{"resourceType":"Bundle","type":"transaction","entry":[`+
					`{"resource":{"resourceType":"Patient","id":"a","gender":"female"},"request":{"method":"PUT","url":"Patient/a","ifMatch":"`+strconv.FormatInt(a.Version, 10)+`"}},`+
					`{"resource":{"resourceType":"Patient","id":"b","gender":"male"},"request":{"method":"PUT","url":"Patient/b","ifMatch":"`+strconv.FormatInt(b.Version, 10)+`"}}]}`, false)
				if category(err) == outcome.PreconditionFailed {
					continue
				}
				errs <- err
				return
			}
			errs <- errors.New("client never won")
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a", "b"} {
		if v, err := f.read("Patient", id); err != nil || v.Version != clients+1 {
			t.Errorf("Patient/%s: %v, version %d, want %d: an update was lost", id, err, v.Version, clients+1)
		}
	}
}
