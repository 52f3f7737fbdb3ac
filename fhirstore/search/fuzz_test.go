package search

import (
	"net/url"
	"testing"
)

// FuzzParse feeds arbitrary query strings to the parser: it must never
// panic, and every error it returns must be a FHIR outcome.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"code=http://loinc.org|8867-4,|x&date=ge2013-01-14T10:00&_sort=-date",
		"subject:Patient.name=ola&_has:Observation:patient:code=1234-5",
		"value-quantity=lt5.4|http://unitsofmeasure.org|mg&_include=*&_revinclude:iterate=Provenance:target",
		"code-value-quantity=http://loinc.org|8480-6$gt100&_count=10&_total=accurate",
		`name:exact=a\,b&identifier:of-type=s|c|v&url:below=http://x`,
	} {
		f.Add("Observation", s)
	}
	f.Fuzz(func(t *testing.T, typ, query string) {
		v, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		if typ != "" && typ != "Observation" && typ != "Patient" {
			typ = "Patient"
		}
		q, err := Parse(typ, v, Options{Base: "http://x/fhir"})
		if err != nil {
			if _, ok := err.(interface{ JSON() []byte }); !ok {
				t.Fatalf("error %T is not an outcome: %v", err, err)
			}
			return
		}
		if q.Count < 0 {
			t.Fatalf("count %d", q.Count)
		}
	})
}
