package phd

import (
	"os"
	"testing"
)

// FuzzJudge: any body is judged without a panic, with one verdict per
// rule, and a rule that does not apply has no issues. The profile rule is
// left out: the validator is fuzzed in fhirstore/profile, and loading the
// core definitions would take the fuzzing time.
func FuzzJudge(f *testing.F) {
	if b, err := os.ReadFile("testdata/upload.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Observation","derivedFrom":[{"reference":"Observation/_history/1"}],"hasMember":[{"reference":"/"}]},"request":{"method":"DELETE"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[null,{"resource":7}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		vs := Judge(nil, body)
		if len(vs) != len(Rules) {
			t.Fatalf("%d verdicts", len(vs))
		}
		for _, v := range vs {
			if !v.Applies && len(v.Issues) > 0 {
				t.Fatalf("%s does not apply but has issues", v.Rule)
			}
		}
	})
}
