package vkp_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"hpsandbox/connectors/connectortest"
	"hpsandbox/connectors/vkp"
)

// Synthetic persons of the tests (month + 80).
const (
	personNIN = "12883810110"
	nurseNIN  = "03854410082"
	// realLike is the guide's example number: an ordinary month.
	realLike = "05073500186"
)

// example is one of the guide's valid examples (package spec's testdata)
// with its persons made synthetic.
func example(t testing.TB, name string) string {
	b, err := os.ReadFile("spec/testdata/valid/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), realLike, personNIN)
	return strings.ReplaceAll(s, "04056600324", nurseNIN)
}

// bundleOf wraps resources in a Bundle of typ.
func bundleOf(typ string, resources ...string) []byte {
	var entries []string
	for i, r := range resources {
		entries = append(entries, fmt.Sprintf(`{"fullUrl":"urn:uuid:00000000-0000-4000-8000-%012d","resource":%s}`, i+1, r))
	}
	return []byte(`{"resourceType":"Bundle","type":"` + typ + `","entry":[` + strings.Join(entries, ",") + `]}`)
}

const supervisionComposition = `{"resourceType":"Composition","identifier":{"system":"urn:ietf:rfc:3986","value":"urn:uuid:9d1c1a52-6f0e-4a35-9d6a-2b7f4c1d9e11"},
 "status":"final","type":{"text":"Tilsynsrapport"},
 "category":[{"coding":[{"system":"http://ehelse.no/fhir/CodeSystem/vkp-composition-category-v090","code":"1"}]}],
 "subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"` + personNIN + `"}},
 "date":"2018-06-25T10:02:00+02:00","author":[{"display":"Responssenter"}],"title":"Kameratilsyn",
 "event":[{"code":[{"coding":[{"system":"http://ehelse.no/fhir/CodeSystem/vkp-composition-event-v090","code":"5"}]}]}]}`

func validSubmissions(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"alarm":        readFile(t, "alarm.json"),
		"supervision":  bundleOf("transaction", example(t, "supervision"), supervisionComposition),
		"dispense":     bundleOf("collection", example(t, "dispense")),
		"measurements": bundleOf("collection", example(t, "bloodpressure"), example(t, "bodytemp"), example(t, "bodyweight"), example(t, "heartrate"), example(t, "oxygensat")),
	}
}

func TestSubmissions_RoundTrip(t *testing.T) {
	for name, body := range validSubmissions(t) {
		t.Run(name, func(t *testing.T) {
			h := newHub(t, vkp.Options{})
			status, resp, _ := h.post("/Bundle", body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, resp)
			}
			var tr struct {
				Type  string `json:"type"`
				Entry []struct {
					Response struct{ Status, Location string } `json:"response"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(resp, &tr); err != nil || tr.Type != "transaction-response" {
				t.Fatalf("answer %s is not a transaction-response", resp)
			}
			pats := h.search("Patient", "identifier=urn:oid:2.16.578.1.12.4.1.4.1|"+personNIN)
			if len(pats) != 1 {
				t.Fatalf("%d patients, want 1", len(pats))
			}
			pid := "Patient/" + pats[0]["id"].(string)
			n := 0
			for _, typ := range []string{"Encounter", "Composition", "MedicationDispense", "Observation"} {
				n += len(h.search(typ, "subject="+pid))
			}
			n += len(h.search("DetectedIssue", "patient="+pid))
			if want := strings.Count(string(body), `"resourceType"`) - 1; n != want {
				t.Fatalf("%d resources on %s, want %d", n, pid, want)
			}
			// The answer names the person's Patient first, registered (201)
			// the first time, found (200) on the retry, where the hub
			// finds the person before the transaction: one shape either way.
			patientFirst := func(resp []byte, status string) {
				t.Helper()
				var tr struct {
					Entry []struct {
						Response struct{ Status, Location string } `json:"response"`
					} `json:"entry"`
				}
				if err := json.Unmarshal(resp, &tr); err != nil {
					t.Fatal(err)
				}
				if want := strings.Count(string(body), `"resourceType"`); len(tr.Entry) != want {
					t.Fatalf("%d answer entries, want %d (the Patient and each resource): %s", len(tr.Entry), want, resp)
				}
				if r := tr.Entry[0].Response; !strings.HasPrefix(r.Status, status) || !strings.HasPrefix(r.Location, pid+"/_history/1") {
					t.Fatalf("first answer entry %+v, want %s at %s/_history/1", r, status, pid)
				}
			}
			patientFirst(resp, "201")
			// The same submission again (a retry) stores nothing new.
			status, resp, _ = h.post("/Bundle", body)
			if status != http.StatusOK {
				t.Fatalf("retry: status %d: %s", status, resp)
			}
			patientFirst(resp, "200")
			m := 0
			for _, typ := range []string{"Encounter", "Composition", "MedicationDispense", "Observation"} {
				m += len(h.search(typ, "subject="+pid))
			}
			m += len(h.search("DetectedIssue", "patient="+pid))
			if m != n || len(h.search("Patient", "identifier=urn:oid:2.16.578.1.12.4.1.4.1|"+personNIN)) != 1 {
				t.Fatalf("after a retry %d resources, want %d", m, n)
			}
		})
	}
}

func TestSubmissions_KnownPatientIsUsed(t *testing.T) {
	h := newHub(t, vkp.Options{})
	p, err := h.engine.Create(t.Context(), sandbox, []byte(`{"resourceType":"Patient","id":"x","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"`+personNIN+`"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if status, resp, _ := h.post("/Bundle", readFile(t, "alarm.json")); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	if rs := h.search("Encounter", "subject=Patient/"+p.ID); len(rs) != 1 {
		t.Fatalf("the alarm did not land on the existing Patient/%s", p.ID)
	}
	if n := len(h.search("Patient", "")); n != 1 {
		t.Fatalf("%d patients; the known one should have been used", n)
	}
}

func TestHub_PassesConnectorSuite(t *testing.T) {
	m := municipality(t, "5006")
	path := vkp.Base + "/" + m.OrgNumber
	var valid []connectortest.Request
	for _, b := range validSubmissions(t) {
		valid = append(valid, connectortest.Request{Method: "POST", Path: path + "/Bundle", Body: b})
	}
	var invalid []connectortest.Request
	for _, r := range refusals(t) {
		invalid = append(invalid, connectortest.Request{Method: "POST", Path: vkp.Base + "/" + r.orgnr(m) + "/Bundle", Body: r.body})
	}
	connectortest.Run(t, connectortest.Subject{ID: vkp.ID, Open: vkp.Open, Valid: valid, Invalid: invalid})
}
