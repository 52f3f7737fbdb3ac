package expand

import (
	"encoding/json"
	"reflect"
	"testing"
)

func decode(t *testing.T, docs ...string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range docs {
		var m map[string]any
		if err := json.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

const colours = `{"resourceType":"CodeSystem","url":"http://x/cs","content":"complete","concept":[
	{"code":"warm","concept":[{"code":"red"},{"code":"orange"}]},
	{"code":"cold","concept":[{"code":"blue"}]}]}`

func TestBuild_IncludesByKind(t *testing.T) {
	tests := []struct {
		name string
		vs   string
		want Expansion
	}{
		{"Concepts", `{"resourceType":"ValueSet","url":"http://x/vs","compose":{"include":[{"system":"http://x/cs","concept":[{"code":"red"}]}]}}`,
			Expansion{Codes: map[string][]string{"http://x/cs": {"red"}}}},
		{"WholeSystem", `{"resourceType":"ValueSet","url":"http://x/vs","compose":{"include":[{"system":"http://x/cs"}]}}`,
			Expansion{Codes: map[string][]string{"http://x/cs": {"blue", "cold", "orange", "red", "warm"}}}},
		{"IsA", `{"resourceType":"ValueSet","url":"http://x/vs","compose":{"include":[{"system":"http://x/cs","filter":[{"property":"concept","op":"is-a","value":"warm"}]}]}}`,
			Expansion{Codes: map[string][]string{"http://x/cs": {"orange", "red", "warm"}}}},
		{"DescendentOf", `{"resourceType":"ValueSet","url":"http://x/vs","compose":{"include":[{"system":"http://x/cs","filter":[{"property":"concept","op":"descendent-of","value":"warm"}]}]}}`,
			Expansion{Codes: map[string][]string{"http://x/cs": {"orange", "red"}}}},
		{"Exclude", `{"resourceType":"ValueSet","url":"http://x/vs","compose":{"include":[{"system":"http://x/cs"}],"exclude":[{"system":"http://x/cs","concept":[{"code":"warm"},{"code":"cold"}]}]}}`,
			Expansion{Codes: map[string][]string{"http://x/cs": {"blue", "orange", "red"}}}},
		{"UnknownSystemIsOpen", `{"resourceType":"ValueSet","url":"http://x/vs","compose":{"include":[{"system":"http://snomed.info/sct"}]}}`,
			Expansion{Codes: map[string][]string{}, Open: []string{"http://snomed.info/sct"}}},
		{"OtherFilterIsOpen", `{"resourceType":"ValueSet","url":"http://x/vs","compose":{"include":[{"system":"http://x/cs","filter":[{"property":"status","op":"=","value":"a"}]}]}}`,
			Expansion{Codes: map[string][]string{}, Open: []string{"http://x/cs"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Build(decode(t, colours, tt.vs), nil).ValueSets["http://x/vs"]
			if got == nil || !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBuild_ImportsAnotherValueSet(t *testing.T) {
	docs := decode(t, colours,
		`{"resourceType":"ValueSet","url":"http://x/a","compose":{"include":[{"system":"http://x/cs","concept":[{"code":"red"}]}]}}`,
		`{"resourceType":"ValueSet","url":"http://x/b","compose":{"include":[{"valueSet":["http://x/a"]},{"system":"http://x/cs","concept":[{"code":"blue"}]}]}}`)
	got := Build(docs, nil).ValueSets["http://x/b"]
	if want := []string{"blue", "red"}; got == nil || !reflect.DeepEqual(got.Codes["http://x/cs"], want) {
		t.Errorf("got %+v, want codes %v", got, want)
	}
}
