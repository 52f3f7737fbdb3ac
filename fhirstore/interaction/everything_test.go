package interaction_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
)

// everythingRecord stores Patient/a's record: its compartment, what that
// references (a Device, practitioners, organisations, locations, a
// Medication, another patient and that patient's Observation), a resource
// only the Device references, a dangling and a deleted reference.
func everythingRecord(f *fixture) {
	for _, body := range []string{
		`{"resourceType":"Organization","id":"org","name":"Fiktiv kommune"}`,
		`{"resourceType":"Organization","id":"devorg","name":"Hjelpemiddelsentralen"}`,
		`{"resourceType":"Practitioner","id":"gp"}`,
		`{"resourceType":"Practitioner","id":"gp2"}`,
		`{"resourceType":"Practitioner","id":"gone"}`,
		`{"resourceType":"Location","id":"ward"}`,
		`{"resourceType":"Location","id":"home"}`,
		`{"resourceType":"Medication","id":"med"}`,
		`{"resourceType":"Device","id":"oxi","owner":{"reference":"Organization/devorg"}}`,
		`{"resourceType":"Patient","id":"b"}`,
		`{"resourceType":"Observation","id":"ob","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/b"}}`,
		`{"resourceType":"Patient","id":"a","generalPractitioner":[{"reference":"Practitioner/gp"}],` +
			`"managingOrganization":{"reference":"Organization/org"},"link":[{"other":{"reference":"Patient/b"},"type":"seealso"}]}`,
		`{"resourceType":"Observation","id":"oa","status":"final","code":{"text":"SpO2"},"subject":{"reference":"Patient/a"},` +
			`"device":{"reference":"Device/oxi"},"performer":[{"reference":"Practitioner/gp"},{"reference":"` + base + `/Practitioner/gp2/_history/1"}],` +
			`"hasMember":[{"reference":"Observation/ob"}]}`,
		`{"resourceType":"Observation","id":"oa2","status":"final","code":{"text":"SpO2"},"subject":{"reference":"Patient/a"},` +
			`"device":{"reference":"Device/oxi"},"performer":[{"reference":"Practitioner/missing"},{"reference":"Practitioner/gone"},{"reference":"Organization/org"}]}`,
		`{"resourceType":"Encounter","id":"ea","status":"finished","class":{"code":"IMP"},"subject":{"reference":"Patient/a"},` +
			`"location":[{"location":{"reference":"Location/ward"}}],"hospitalization":{"origin":{"reference":"Location/home"}}}`,
		`{"resourceType":"MedicationRequest","id":"mr","status":"active","intent":"order",` +
			`"medicationReference":{"reference":"Medication/med"},"subject":{"reference":"Patient/a"},"requester":{"reference":"Practitioner/gp"},"encounter":{"reference":"Encounter/ea"}}`,
	} {
		f.put(body)
	}
	if _, err := f.store.Delete(f.ctx, sb, "Practitioner", "gone"); err != nil {
		f.t.Fatal(err)
	}
}

// everything follows the pages of Patient/[patient]/$everything with
// params and returns the entries as mode:Type/id, in order.
func (f *fixture) everything(patient string, params url.Values) ([]string, error) {
	f.t.Helper()
	var ids []string
	first := params
	for pages := 0; ; pages++ {
		ev, err := f.eng.Everything(f.ctx, &interaction.EverythingRequest{Sandbox: sb, Type: "Patient", ID: patient, Params: params})
		if err != nil {
			return ids, err
		}
		for _, v := range ev.Page.Matches {
			ids = append(ids, "match:"+v.Type+"/"+v.ID)
		}
		for _, v := range ev.Referenced {
			ids = append(ids, "include:"+v.Type+"/"+v.ID)
		}
		if ev.Page.Next == "" {
			return ids, nil
		}
		if pages > 50 {
			f.t.Fatal("paging does not end")
		}
		params = url.Values{"_cursor": {ev.Page.Next}, "_count": {strconv.Itoa(ev.Query.Count)}}
		for _, k := range []string{"_type", "_since"} {
			if v := first.Get(k); v != "" {
				params.Set(k, v)
			}
		}
	}
}

const (
	recordMatches  = "match:Patient/a match:Observation/oa match:Observation/oa2 match:Encounter/ea match:MedicationRequest/mr"
	recordIncludes = "include:Device/oxi include:Location/home include:Location/ward include:Medication/med include:Observation/ob " +
		"include:Organization/org include:Patient/b include:Practitioner/gp include:Practitioner/gp2"
)

func TestEverything_IncludesWhatTheCompartmentReferencesOnceAfterTheMatches(t *testing.T) {
	f := newFixture(t)
	everythingRecord(f)
	all := recordMatches + " " + recordIncludes
	tests := []struct {
		name, query, want string
	}{
		{"one page", "_count=1000", all},
		{"default page size", "", all},
		{"pages of 2", "_count=2", all},
		{"pages of 1", "_count=1", all},
		{"pages of 5, the matches filling the first", "_count=5", all},
		{"_since after everything", "_since=2999-01-01T00:00:00Z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, _ := url.ParseQuery(tt.query)
			ids, err := f.everything("a", params)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids, " "); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEverything_TypeLimitsReferencedResourcesToo(t *testing.T) {
	f := newFixture(t)
	everythingRecord(f)
	for query, want := range map[string]string{
		"_type=Practitioner,Observation&_count=1000": "match:Observation/oa match:Observation/oa2 include:Observation/ob include:Practitioner/gp include:Practitioner/gp2",
		"_type=Location,Device&_count=1000":          "include:Device/oxi include:Location/home include:Location/ward",
	} {
		params, _ := url.ParseQuery(query)
		ids, err := f.everything("a", params)
		if got := strings.Join(ids, " "); err != nil || got != want {
			t.Errorf("%s: %v\ngot  %s\nwant %s", query, err, got, want)
		}
	}
}

func TestEverything_SinceKeepsReferencedResourcesUpdatedSince(t *testing.T) {
	f := newFixture(t)
	everythingRecord(f)
	time.Sleep(5 * time.Millisecond)
	since := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	time.Sleep(5 * time.Millisecond)
	f.put(`{"resourceType":"Practitioner","id":"gp","active":true}`)
	f.put(`{"resourceType":"Encounter","id":"ea","status":"finished","class":{"code":"IMP"},"subject":{"reference":"Patient/a"}}`)
	ids, err := f.everything("a", url.Values{"_since": {since}})
	// Only ea and gp were updated since; the Locations that ea no longer
	// references, and everything else, are older.
	if got, want := strings.Join(ids, " "), "match:Encounter/ea include:Practitioner/gp"; err != nil || got != want {
		t.Errorf("%v: got %s, want %s", err, got, want)
	}
}

// Under a confinement to Patient/a (a patient-level token), the record
// keeps what no patient compartment holds (the Device, the GP, the
// organisation) and leaves out another Patient and that patient's
// Observation; another patient's $everything is refused.
func TestEverything_ConfinedLeavesOutOtherCompartmentsButKeepsTheRecord(t *testing.T) {
	f := newFixture(t)
	everythingRecord(f)
	f.ctx = search.ConfineTo(f.ctx, &search.Confinement{Compartment: search.Compartment{Type: "Patient", ID: "a"}})
	ids, err := f.everything("a", url.Values{"_count": {"3"}})
	if err != nil {
		t.Fatal(err)
	}
	want := recordMatches + " include:Device/oxi include:Location/home include:Location/ward include:Medication/med " +
		"include:Organization/org include:Practitioner/gp include:Practitioner/gp2"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := f.everything("b", nil); category(err) != outcome.Denied {
		t.Errorf("Patient/b's $everything under Patient/a: %v", err)
	}
	// Confined, _type of compartment types only cannot include anything,
	// so a page the matches fill is the last.
	ev, err := f.eng.Everything(f.ctx, &interaction.EverythingRequest{Sandbox: sb, Type: "Patient", ID: "a",
		Params: url.Values{"_type": {"Observation"}, "_count": {"2"}}})
	if err != nil || ev.Page.Next != "" {
		t.Errorf("%v: a next page after the last match, though nothing can follow", err)
	}
}

func TestEverything_Refusals(t *testing.T) {
	f := newFixture(t)
	everythingRecord(f)
	for name, tc := range map[string]struct {
		typ, id string
		params  url.Values
		want    outcome.Category
	}{
		"a cursor not its own":  {"Patient", "a", url.Values{"_cursor": {"ref.!!"}}, outcome.Incorrect},
		"an unknown parameter":  {"Patient", "a", url.Values{"_sort": {"date"}}, outcome.Incorrect},
		"a bad _since":          {"Patient", "a", url.Values{"_since": {"soon"}}, outcome.Incorrect},
		"an unknown type":       {"Patient", "a", url.Values{"_type": {"Nope"}}, outcome.Incorrect},
		"an unknown patient":    {"Patient", "nobody", nil, outcome.Missing},
		"another resource type": {"Observation", "oa", nil, outcome.Missing},
	} {
		_, err := f.eng.Everything(f.ctx, &interaction.EverythingRequest{Sandbox: sb, Type: tc.typ, ID: tc.id, Params: tc.params})
		if category(err) != tc.want {
			t.Errorf("%s: %v, want %s", name, err, tc.want)
		}
	}
}
