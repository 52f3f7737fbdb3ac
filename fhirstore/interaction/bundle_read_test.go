package interaction

import (
	"fmt"
	"reflect"
	"testing"

	"hpsandbox/fhirstore/fhirjson"
)

// checkReadShell fails when readShell answers for shell otherwise than
// encoding/json (decodeShell) does.
func checkReadShell(t *testing.T, shell []byte) (read bool) {
	t.Helper()
	got, isBundle, ok := readShell(shell)
	if !ok {
		return false
	}
	want, err := decodeShell(shell)
	if !isBundle {
		if err == nil {
			t.Fatalf("readShell(%s): not a Bundle; encoding/json reads one", shell)
		}
		return true
	}
	if err != nil {
		t.Fatalf("readShell(%s) reads what encoding/json refuses: %v", shell, err)
	}
	if len(got.Entry) == 0 && len(want.Entry) == 0 {
		got.Entry, want.Entry = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("readShell(%s) = %s; encoding/json: %s", shell, show(got), show(want))
	}
	return true
}

func show(b *bundleIn) string {
	s := fmt.Sprintf("type %q", b.Type)
	for _, e := range b.Entry {
		s += fmt.Sprintf(" {%q %q", e.FullURL, e.Resource)
		if e.Request != nil {
			s += fmt.Sprintf(" %+v", *e.Request)
		}
		s += "}"
	}
	return s
}

var shellCases = []struct {
	shell string
	read  bool
}{
	{`{"resourceType":"Bundle","type":"transaction","entry":[{"fullUrl":"urn:uuid:1","request":{"method":"POST","url":"Patient"}}]}`, true},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"PUT","url":"Patient/a","ifMatch":"W/\"1\""}},{"request":{"method":"GET","url":"Patient/a","other":[1,{"url":2}]}}]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":"Patient","ifNoneExist":"identifier=a|b"}},{}]}`, true},
	{`{"resourceType":"Bundle","type":"transaction","entry":[]}`, true},
	{`{"resourceType":"Bundle","type":"transaction"}`, true},
	{`{"resourceType":"Bundle","id":"x","meta":{"type":1},"type":"transaction","entry":[{"link":[{"url":"x"}],"request":{"method":"POST","url":"Patient","extra":null}}]}`, true},
	{`{"resourceType":"Patient","type":"transaction"}`, true},
	{`{"type":"transaction"}`, true},
	{`{}`, true},
	// Left to encoding/json:
	{`[]`, false},
	{`null`, false},
	{`{"resourceType":"Bundle","Type":"transaction"}`, false},
	{`{"resourceType":"Bundle","type":"transaction","ENTRY":[]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"Request":{"method":"POST","url":"Patient"}}]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"Method":"POST","url":"Patient"}}]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"POST","url":"Patient"},"request":{"url":"Observation"}}]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"Resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[null]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"request":null}]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":null}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":{}}`, false},
	{`{"resourceType":"Bundle","type":null}`, false},
	{`{"resourceType":"Bundle","type":7}`, false},
	{`{"resourceType":"Bundle","type":"tr\u0061nsaction"}`, false},
	{`{"resourceType":"Bundle","t\u0079pe":"batch"}`, false},
	{`{"resource\u0054ype":"Bundle","type":"batch"}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[{"fullUrl":"ø","request":{"method":"POST","url":"Patient"}}]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[1]}`, false},
	{`{"resourceType":"Bundle","type":"batch","entry":[],"entry":[]}`, false},
}

func TestReadShell_ReadsAsEncodingJSONOrDeclines(t *testing.T) {
	for _, c := range shellCases {
		if got := checkReadShell(t, []byte(c.shell)); got != c.read {
			t.Errorf("readShell(%s) read = %v, want %v", c.shell, got, c.read)
		}
	}
}

// FuzzReadShell: the shell of any Bundle, and any compacted JSON, is read
// as encoding/json reads it, or left to it.
func FuzzReadShell(f *testing.F) {
	for _, c := range shellCases {
		f.Add([]byte(c.shell))
	}
	f.Add([]byte(`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if c, ok := fhirjson.Compact(body); ok {
			checkReadShell(t, c)
		}
		if shell, _, err := fhirjson.SplitBundle(body); err == nil {
			checkReadShell(t, shell)
		}
	})
}
