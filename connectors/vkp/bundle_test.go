package vkp_test

import (
	"fmt"
	"slices"
	"strings"
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
		{"many types, repeats among them", manyTypes(40, 3), typeNames(40)},
		{"more types than a list is searched for", manyTypes(1000, 1), typeNames(1000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := vkp.ReadBundle([]byte(tc.body)).EntryTypes(); !slices.Equal(got, tc.want) {
				t.Errorf("EntryTypes = %q, want %q", got, tc.want)
			}
		})
	}
}

// manyTypes is a Bundle of n distinct resource types, each in k entries
// (the k rounds one after the other).
func manyTypes(n, k int) string {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","entry":[`)
	for i := range n * k {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"resource":{"resourceType":"T%d"}}`, i%n)
	}
	b.WriteString(`]}`)
	return b.String()
}

func typeNames(n int) []string {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("T%d", i))
	}
	return names
}

// BenchmarkEntryTypes_Hostile reads the types of a Bundle of as many
// distinct types as the hub's 1 MB limit holds (about 28,000), as the
// access rule does before Parse refuses it: the time per entry stays flat.
func BenchmarkEntryTypes_Hostile(b *testing.B) {
	for _, n := range []int{1000, 28000} {
		body := []byte(manyTypes(n, 1))
		b.Run(fmt.Sprintf("types=%d", n), func(b *testing.B) {
			for b.Loop() {
				if got := len(vkp.ReadBundle(body).EntryTypes()); got != n {
					b.Fatalf("%d types", got)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/entry")
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
