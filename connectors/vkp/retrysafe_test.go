package vkp

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// retryBodies are bodies whose shape the scan of retrySafe must either
// read as encoding/json does or leave to it: the alarm as sent, its
// identifiers taken away or changed, and what encoding/json treats
// specially (names in another case, repeated members, other types, null,
// escapes, invalid and cut-short JSON).
func retryBodies(t testing.TB) [][]byte {
	t.Helper()
	alarm := readTestdata(t, "alarm.json")
	r := func(old, new string) []byte { return bytes.ReplaceAll(alarm, []byte(old), []byte(new)) }
	bodies := [][]byte{
		alarm,
		r(`"identifier"`, `"identifiers"`),
		r(`"identifier"`, `"Identifier"`),
		r(`"resourceType"`, `"resourcetype"`),
		r(`"resource"`, `"Resource"`),
		r(`"entry"`, `"Entry"`),
		r(`"entry"`, `"ENTRY"`),
		r(`"urn:ietf:rfc:3986"`, `"urn:ietf:rfc:3987"`),
		r(`"urn:ietf:rfc:3986"`, `"urn:ietf:rfc\u003a3986"`),
		r(`"resourceType": "Encounter"`, `"resourceType": "Enc\u006funter"`),
		r(`"resourceType": "Encounter"`, `"resourceType": 7`),
		r(`"resourceType": "Encounter"`, `"resourceType": null`),
		r(`"resourceType": "Encounter"`, `"resourceType": "Encounter", "resourceType": "Composition"`),
		r(`"resourceType": "Encounter"`, `"resourceType": "Encøunter"`),
		r(`"resourceType": "Encounter"`, "\"resourceType\": \"Enc\xffunter\""),
		r(`"resourceType": "Encounter"`, `"reſourceType": "Encounter"`),
		alarm[:len(alarm)/2],
		append(bytes.Clone(alarm), '}'),
		append(bytes.Clone(alarm), " \n\t"...),
		append([]byte("\xef\xbb\xbf"), alarm...),
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `""`, `{"entry":null}`, `{"entry":[]}`, `{"entry":{}}`, `{"entry":[null]}`, `{"entry":[{}]}`,
		`{"entry":[{"resource":null}]}`, `{"entry":[{"resource":{}}]}`, `{"entry":[{"resource":[]}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation"}}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation","identifier":null}}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation","identifier":{"system":"urn:ietf:rfc:3986","value":"x"}}}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation","identifier":[{"system":"urn:ietf:rfc:3986","value":""},{"system":"urn:ietf:rfc:3986","value":"y"}]}}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation","identifier":{"system":"urn:ietf:rfc:3986","value":"x","value":""}}}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation","identifier":{"system":"urn:ietf:rfc:3986","value":1}}}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation","identifier":"x"}}]}`,
		`{"entry":[{"resource":{"resourceType":"Observation"}},{"resource":{"resourceType":"Observation"}}],"entry":[]}`,
		`{"entry":[{"resource":{"resourceType":"A"},"resource":{"identifier":{"system":"urn:ietf:rfc:3986","value":"x"}}}]}`,
		`{"entry":[{"resource":{"resourceType":"A","x":[1,-0.5e+3,true,false,null,"\u00e6\n",{"a":[]}]}}]}`,
		`{"entry":[{"resource":{"resourceType":"A","x":01}}]}`,
		`{"entry":[{"resource":{"resourceType":"A","x":1.}}]}`,
		`{"entry":[{"resource":{"resourceType":"A","x":-}}]}`,
		`{"entry":[{"resource":{"resourceType":"A","x":tru}}]}`,
		`{"entry":[{"resource":{"resourceType":"A","x":"\x"}}]}`,
		`{"entry":[{"resource":{"resourceType":"A","x":"\u12"}}]}`,
		"{\"entry\":[{\"resource\":{\"resourceType\":\"A\",\"x\":\"\x01\"}}]}",
		`{"entry":[{"resource":{"resourceType":"A",}}]}`,
		`{"entry":[{"resource":{"resourceType":"A"}},]}`,
		`{"entry":[{"resource":{"resourceType":"A"}}]}x`,
		`{"entry":[{"resource":{"resourceType":"A"}}]} {}`,
		`{"entry":[{"resource":{"resourceType":"A"}}]`,
		`{"entr\u0079":[{"resource":{"resourceType":"A"}}]}`,
		`{"other":[[[[{"entry":1}]]]],"entry":[{"resource":{"resourceType":"A"}}]}`,
	} {
		bodies = append(bodies, []byte(s))
	}
	return bodies
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRetrySafe_SameAsEncodingJSON(t *testing.T) {
	for _, body := range retryBodies(t) {
		if got, want := retrySafe(body), retrySafeStd(body); !reflect.DeepEqual(got, want) {
			t.Errorf("retrySafe(%.80q) = %+v, want %+v", body, got, want)
		}
	}
}

func TestScanHeads_ReadsTheAlarm(t *testing.T) {
	heads, ok := scanHeads(readTestdata(t, "alarm.json"))
	if !ok || len(heads) != 3 {
		t.Fatalf("scanHeads(alarm) = %d heads, %v; want 3, true", len(heads), ok)
	}
	for i, typ := range []string{"DetectedIssue", "Encounter", "Composition"} {
		if heads[i].typ != typ || len(heads[i].identifier) == 0 {
			t.Errorf("head %d = %q with identifier %q, want %s with one", i, heads[i].typ, heads[i].identifier, typ)
		}
	}
}

func FuzzRetrySafe(f *testing.F) {
	for _, b := range retryBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := retrySafe(body), retrySafeStd(body); !reflect.DeepEqual(got, want) {
			t.Fatalf("retrySafe(%q) = %+v, want %+v", body, got, want)
		}
	})
}

func BenchmarkRetrySafe(b *testing.B) {
	alarm := readTestdata(b, "alarm.json")
	for _, c := range []struct {
		name string
		fn   func([]byte) any
	}{{"scan", func(x []byte) any { return retrySafe(x) }}, {"encoding-json", func(x []byte) any { return retrySafeStd(x) }}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				c.fn(alarm)
			}
		})
	}
}
