package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"hpsandbox/fhirstore/outcome"
)

func TestSplitBundle_TakesResourcesOutOfEntries(t *testing.T) {
	tests := []struct {
		name, body, shell string
		resources         []string // "" for none
	}{
		{"entries with and without resource",
			`{ "resourceType": "Bundle", "type": "transaction", "entry": [
			  {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "name": [ {"family": "X"} ]}, "request": {"method": "POST", "url": "Patient"}},
			  {"request": {"method": "GET", "url": "Patient/p1"}} ] }`,
			`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","request":{"method":"POST","url":"Patient"}},{"request":{"method":"GET","url":"Patient/p1"}}]}`,
			[]string{`{"resourceType":"Patient","name":[{"family":"X"}]}`, ""}},
		{"no entries", `{"resourceType":"Bundle","type":"batch"}`, `{"resourceType":"Bundle","type":"batch"}`, nil},
		{"empty entry list", `{"resourceType":"Bundle","entry":[]}`, `{"resourceType":"Bundle","entry":[]}`, nil},
		{"entry of only a resource", `{"entry":[{"resource":{"a":1}}]}`, `{"entry":[{}]}`, []string{`{"a":1}`}},
		{"the last of repeated members counts", `{"entry":[{"resource":{"a":1},"resource":{"b":2}}],"type":"x","type":"batch"}`,
			`{"entry":[{}],"type":"batch"}`, []string{`{"b":2}`}},
		{"a string mentioning resource is left alone", `{"entry":[{"fullUrl":"\"resource\":{}"}]}`, `{"entry":[{"fullUrl":"\"resource\":{}"}]}`, []string{""}},
		{"entry not an array stays", `{"entry":{"resource":{}}}`, `{"entry":{"resource":{}}}`, nil},
		{"entry elements not objects stay", `{"entry":[1,null,"x",[]]}`, `{"entry":[1,null,"x",[]]}`, []string{"", "", "", ""}},
		{"not an object stays", `[ {"entry":[]} ]`, `[{"entry":[]}]`, nil},
		{"a null resource is a resource", `{"entry":[{"resource":null}]}`, `{"entry":[{}]}`, []string{"null"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shell, resources, err := SplitBundle([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(shell) != tt.shell {
				t.Errorf("shell %s\nwant  %s", shell, tt.shell)
			}
			var got []string
			for _, r := range resources {
				got = append(got, string(r))
			}
			if !reflect.DeepEqual(got, tt.resources) {
				t.Errorf("resources %q, want %q", got, tt.resources)
			}
		})
	}
}

// TestSplitBundle_ManyRepeatedMembers: a sender may repeat a member many
// times (encoding/json keeps the last); the shell keeps the last of each,
// in the order of their last places.
func TestSplitBundle_ManyRepeatedMembers(t *testing.T) {
	body, want := repeatedMembers(5000)
	shell, resources, err := SplitBundle(body)
	if err != nil {
		t.Fatal(err)
	}
	if string(shell) != want {
		t.Errorf("shell %.200s…\nwant  %.200s…", shell, want)
	}
	if len(resources) != 1 || string(resources[0]) != `{"resourceType":"Patient"}` {
		t.Errorf("resources %q", resources)
	}
	var a, b any
	if json.Unmarshal(body, &a) != nil || json.Unmarshal(shell, &b) != nil {
		t.Fatal("not JSON")
	}
	a.(map[string]any)["entry"].([]any)[0].(map[string]any)["resource"] = nil
	delete(a.(map[string]any)["entry"].([]any)[0].(map[string]any), "resource")
	if !reflect.DeepEqual(a, b) {
		t.Error("the shell does not read as the body does to encoding/json")
	}
}

// repeatedMembers is a Bundle whose one entry repeats "fullUrl" n times
// and "request" twice, between other members, and the shell SplitBundle
// should make of it.
func repeatedMembers(n int) (body []byte, shell string) {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":"x"}`)
	for i := range n {
		fmt.Fprintf(&b, `,"fullUrl":"urn:uuid:%d"`, i)
	}
	b.WriteString(`,"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}],"type":"batch"}`)
	shell = fmt.Sprintf(`{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:%d","request":{"method":"POST","url":"Patient"}}],"type":"batch"}`, n-1)
	return b.Bytes(), shell
}

func TestSplitBundle_RefusesWhatIsNotJSON(t *testing.T) {
	for _, body := range []string{``, `{`, `{"entry":[{"resource":{}]}`, `{} {}`, `{"a":1,}`} {
		if _, _, err := SplitBundle([]byte(body)); err == nil {
			t.Errorf("%q was accepted", body)
		}
	}
}

// FuzzSplitBundle checks SplitBundle against encoding/json: the shell and
// the resources put back together are the body as encoding/json reads it.
func FuzzSplitBundle(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`,
		`{"entry":[{"resource":1,"resource":2},3,{"a":"\u0022resource\u0022"}],"entry":[]}`,
		`[1]`, `"x"`, `{"entry":{"resource":{}}}`, `{"entry":[{}, {"resource":null}]}`,
	} {
		f.Add(s)
	}
	f.Add("\ufeff" + `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient"}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		shell, resources, err := SplitBundle([]byte(body))
		text := TrimBOM([]byte(body)) // a byte-order mark is ignored
		if (err != nil) != !json.Valid(text) {
			t.Fatalf("err %v for a body whose validity is %v", err, json.Valid(text))
		}
		if err != nil {
			var oe *outcome.Error
			if !errors.As(err, &oe) || oe.Category != outcome.Incorrect {
				t.Fatalf("error %v is not a 400 outcome", err)
			}
			checkPositionIn(t, text, oe.Issues[0].Diagnostics)
			return
		}
		want, err := decodeNumbers(text)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeNumbers(shell)
		if err != nil {
			t.Fatalf("shell %s: %v", shell, err)
		}
		if obj, ok := got.(map[string]any); ok {
			if entries, ok := obj["entry"].([]any); ok {
				if len(entries) != len(resources) {
					t.Fatalf("%d entries, %d resources", len(entries), len(resources))
				}
				for i, e := range entries {
					if r := resources[i]; r != nil {
						var c bytes.Buffer
						if json.Compact(&c, r) != nil || c.Len() != len(r) {
							t.Fatalf("resource %d %s is not compact JSON", i, r)
						}
						v, _ := decodeNumbers(r)
						e.(map[string]any)["resource"] = v
					}
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("shell %s and resources %q make %v, want %v", shell, resources, got, want)
		}
	})
}

// decodeNumbers decodes JSON keeping numbers as written, which valid JSON
// may hold beyond what a float64 can (1e400).
func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	return v, d.Decode(&v)
}
