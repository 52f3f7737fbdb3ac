package sqlstore

import (
	"reflect"
	"testing"
	"time"

	"hpsandbox/fhirstore/fhirjson"
)

// The index a single write extracts before it is queued (preExtract, from
// the body as the client sent it) is the index of the body as stored,
// stamped with its id, version and time: the rows the committer would have
// written from its own extraction.
func TestPreExtract_IsTheIndexOfTheStampedBody(t *testing.T) {
	for _, body := range []string{
		`{"resourceType":"Patient","id":"client-id","meta":{"versionId":"7","lastUpdated":"2001-01-01T00:00:00Z","profile":["http://example.org/p"],
			"tag":[{"system":"urn:t","code":"a"}],"security":[{"system":"urn:s","code":"R"}],"source":"urn:src"},
			"identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"13116900216"}],
			"name":[{"family":"Nordmann","given":["Kari","Ane"]}],"gender":"female","birthDate":"1980-02-03",
			"managingOrganization":{"reference":"Organization/o1"},"telecom":[{"system":"phone","value":"+47 22 00 00 00"}]}`,
		`{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
			"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"},{"system":"urn:x","code":"bp"}],"text":"BP"},
			"subject":{"reference":"Patient/p1"},"effectivePeriod":{"start":"2013-01-10","end":"2013-01-12"},
			"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
				{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
		`{"resourceType":"RiskAssessment","id":"r1","status":"final","subject":{"reference":"Patient/p2"},
			"prediction":[{"probabilityDecimal":0.3},{"probabilityRange":{"low":{"value":0.1},"high":{"value":0.5}}}]}`,
		`{"resourceType":"MedicationRequest","id":"m1","status":"active","intent":"order","contained":[{"resourceType":"Medication","id":"med","code":{"text":"x"}}],
			"medicationReference":{"reference":"#med"},"subject":{"reference":"Patient/p1"},"authoredOn":"2020-01-01"}`,
	} {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		pre := preExtract(r)
		if pre == nil {
			t.Fatalf("%s: no index extracted", r.Type)
		}
		stamped, err := fhirjson.Stamp(r.Body, "stored-id", 3, time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		want, err := extract(r.Type, stamped)
		if err != nil {
			t.Fatal(err)
		}
		// The rows written: an Index's ID is not among them.
		var got, wantRows [numIndexTables][]any
		appendIndexRows(&got, "sb", 1, pre, false)
		appendIndexRows(&wantRows, "sb", 1, want, false)
		if !reflect.DeepEqual(got, wantRows) {
			t.Errorf("%s: index rows before stamping\n%v\nwant, of the stamped body,\n%v", r.Type, got, wantRows)
		}
	}
	if x := preExtract(&fhirjson.Resource{Type: "NoSuchType", Body: []byte(`{"resourceType":"NoSuchType"}`)}); x != nil {
		t.Errorf("an unknown type gave an index: %+v", x)
	}
}
