package storetest

import (
	"context"
	"net/url"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
)

// searchBase is the FHIR base that search tests take as this server's.
const searchBase = "http://sandbox.test/fhir"

const (
	loinc = "http://loinc.org"
	nin   = "urn:oid:2.16.578.1.12.4.1.4.1"
)

// searchData is the hand-built data set of the search tests, written in
// this order (so that the default order, by row, is this order). Expected
// matches in the tests are read off these bodies.
var searchData = []string{
	`{"resourceType":"Organization","id":"o1","name":"St. Olavs hospital"}`,
	`{"resourceType":"Organization","id":"o2","name":"Haukeland universitetssjukehus"}`,
	`{"resourceType":"Patient","id":"p1","meta":{"profile":["http://example.org/fhir/StructureDefinition/no-basis-Patient"]},
		"identifier":[{"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"NI"}]},"system":"` + nin + `","value":"13028012345"}],
		"active":true,"name":[{"family":"Nordmann","given":["Kari"]}],"gender":"female","birthDate":"1980-02-03",
		"managingOrganization":{"reference":"Organization/o1"}}`,
	`{"resourceType":"Patient","id":"p2","meta":{"profile":["http://example.org/fhir/StructureDefinition/other"],"tag":[{"system":"urn:test","code":"vip"}]},
		"name":[{"family":"Nordmann","given":["Ola"]}],"gender":"male","birthDate":"1975-06",
		"managingOrganization":{"reference":"Organization/o2"}}`,
	`{"resourceType":"Patient","id":"p3","name":[{"family":"Ærø","given":["Åse"]}],"gender":"female","birthDate":"2013-01-14"}`,
	`{"resourceType":"Patient","id":"p4","name":[{"family":"Hansen"}]}`,
	`{"resourceType":"Observation","id":"ob1","status":"final",
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
		"code":{"coding":[{"system":"` + loinc + `","code":"8867-4","display":"Heart rate"}]},
		"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2013-01-14",
		"valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`,
	`{"resourceType":"Observation","id":"ob2","status":"final",
		"code":{"coding":[{"system":"` + loinc + `","code":"29463-7","display":"Body weight"}]},
		"subject":{"reference":"Patient/p1","identifier":{"system":"` + nin + `","value":"13028012345"}},
		"effectiveDateTime":"2013-01-14T10:30:00Z",
		"valueQuantity":{"value":5.4,"unit":"mg","system":"http://unitsofmeasure.org","code":"mg"}}`,
	`{"resourceType":"Observation","id":"ob3","status":"preliminary",
		"code":{"coding":[{"system":"` + loinc + `","code":"8867-4","display":"Heart rate"}]},
		"subject":{"reference":"Patient/p2"},"effectivePeriod":{"start":"2013-01-10","end":"2013-01-12"},
		"valueQuantity":{"value":100,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`,
	`{"resourceType":"Observation","id":"ob4","status":"final",
		"code":{"coding":[{"system":"` + loinc + `","code":"85354-9"}],"text":"Blodtrykk"},
		"subject":{"reference":"Patient/p3"},"effectiveDateTime":"2014-05-01",
		"component":[
			{"code":{"coding":[{"system":"` + loinc + `","code":"8480-6"}]},"valueQuantity":{"value":120,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
			{"code":{"coding":[{"system":"` + loinc + `","code":"8462-4"}]},"valueQuantity":{"value":80,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]}`,
	`{"resourceType":"Observation","id":"ob5","status":"final",
		"code":{"coding":[{"system":"` + loinc + `","code":"8867-4","display":"Heart rate"}]},
		"subject":{"reference":"Patient/p2"},"effectiveDateTime":"2013-01-15T09:00:00+01:00",
		"valueQuantity":{"value":99.6,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`,
	`{"resourceType":"RiskAssessment","id":"r1","status":"final","subject":{"reference":"Patient/p1"},"prediction":[{"probabilityDecimal":0.8}]}`,
	`{"resourceType":"RiskAssessment","id":"r2","status":"final","subject":{"reference":"Patient/p2"},"prediction":[{"probabilityDecimal":0.35}]}`,
	`{"resourceType":"Patient","id":"p5","name":[{"family":"Nordmann","given":["Slettet"]}]}`,
}

// otherSandboxData lives in another sandbox; no search of sb may see it,
// although it uses the same ids and values.
var otherSandboxData = []string{
	`{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann","given":["Kari"]}],"gender":"female","birthDate":"1980-02-03"}`,
	`{"resourceType":"Observation","id":"zo1","status":"final","code":{"coding":[{"system":"` + loinc + `","code":"8867-4"}]},
		"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2013-01-14","valueQuantity":{"value":72,"system":"http://unitsofmeasure.org","code":"/min"}}`,
}

// seedSearch writes searchData and otherSandboxData, then changes p4's
// family name from Hansen to Olsen and deletes p5, so that the index must
// follow updates and deletions.
func seedSearch(t *testing.T, s fhirstore.Store) {
	t.Helper()
	ctx := context.Background()
	put := func(sandbox, body string) {
		r, err := fhirjson.Parse([]byte(body))
		if err != nil {
			t.Fatalf("test resource invalid: %v\n%s", err, body)
		}
		if _, _, err := s.Update(ctx, fhirstore.Sandbox(sandbox), r, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range searchData {
		put(sb, b)
	}
	for _, b := range otherSandboxData {
		put("other", b)
	}
	put(sb, `{"resourceType":"Patient","id":"p4","name":[{"family":"Olsen"}]}`)
	if _, err := s.Delete(ctx, sb, "Patient", "p5"); err != nil {
		t.Fatal(err)
	}
}

// parseSearch parses a search of typ the way the FHIR API does.
func parseSearch(t *testing.T, typ, query string) *search.Query {
	t.Helper()
	return parseWith(t, typ, query, search.Options{Base: searchBase})
}

// ParseQuery parses typ?query as a search with no base URL, failing t if
// it does not parse: for the stores' own tests of their statements.
func ParseQuery(t testing.TB, typ, query string) *search.Query {
	t.Helper()
	return parseWith(t, typ, query, search.Options{})
}

func parseWith(t testing.TB, typ, query string, opts search.Options) *search.Query {
	t.Helper()
	v, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := search.Parse(typ, v, opts)
	if err != nil {
		t.Fatalf("%s?%s: %v", typ, query, err)
	}
	return q
}

// ids are the Type/id of resources in order.
func ids(rs []*fhirstore.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
