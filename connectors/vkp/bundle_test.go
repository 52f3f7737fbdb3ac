package vkp_test

import (
	"slices"
	"testing"

	"hpsandbox/connectors/vkp"
)

// The access rule reads the types from the same split and decoded
// resources that Parse judges, so what is authorized is what is judged.
func TestBundle_EntryTypes_AreTheTypesParseJudges(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"alarm", string(readFile(t, "alarm.json")), []string{"DetectedIssue", "Encounter", "Composition"}},
		{"repeated type once", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Observation"}},{"resource":{"resourceType":"Observation"}}]}`, []string{"Observation"}},
		{"exact member names only", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Encounter","ResourceType":"Patient"}}]}`, []string{"Encounter"}},
		{"last of repeated members", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","resourceType":"Encounter"}}]}`, []string{"Encounter"}},
		{"entry without resource", `{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:x"},{"resource":{"resourceType":"Encounter"}}]}`, []string{"Encounter"}},
		{"resource not an object", `{"resourceType":"Bundle","entry":[{"resource":"Encounter"}]}`, nil},
		{"no entries", `{"resourceType":"Bundle"}`, nil},
		{"not an object", `["Encounter"]`, nil},
		{"not JSON", `{"entry":[`, nil},
		{"empty", ``, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := vkp.ReadBundle([]byte(tc.body)).EntryTypes(); !slices.Equal(got, tc.want) {
				t.Errorf("EntryTypes = %q, want %q", got, tc.want)
			}
		})
	}
}

// Parse through a Bundle read once judges as Parse of the body does.
func TestBundle_Parse_SameAsParse(t *testing.T) {
	alarm := readFile(t, "alarm.json")
	b := vkp.ReadBundle(alarm)
	_ = b.EntryTypes()
	s, err := b.Parse(nil, vkp.Alarm)
	if err != nil {
		t.Fatal(err)
	}
	want, err := vkp.Parse(alarm, nil, vkp.Alarm)
	if err != nil {
		t.Fatal(err)
	}
	if s.Kind != want.Kind || s.Person != want.Person || len(s.Entries) != len(want.Entries) {
		t.Errorf("Bundle.Parse = %s %s %d entries, Parse = %s %s %d", s.Kind, s.Person, len(s.Entries), want.Kind, want.Person, len(want.Entries))
	}
	for _, body := range []string{``, `  `, `{"entry":[`, `[]`} {
		_, err1 := vkp.ReadBundle([]byte(body)).Parse(nil, vkp.Alarm)
		_, err2 := vkp.Parse([]byte(body), nil, vkp.Alarm)
		if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
			t.Errorf("%q: Bundle.Parse %v, Parse %v", body, err1, err2)
		}
	}
}
