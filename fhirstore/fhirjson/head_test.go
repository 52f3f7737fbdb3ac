package fhirjson

import (
	"encoding/json"
	"testing"
)

// decodedHead is what encoding/json reads of resourceType and id.
func decodedHead(body []byte) (typ, id string, hasID bool, err error) {
	var h struct {
		ResourceType string  `json:"resourceType"`
		ID           *string `json:"id"`
	}
	err = json.Unmarshal(body, &h)
	if h.ID != nil {
		id, hasID = *h.ID, true
	}
	return h.ResourceType, id, hasID, err
}

// checkVouchedHead fails when VouchedHead answers for body otherwise
// than encoding/json would.
func checkVouchedHead(t *testing.T, body []byte) (ok bool) {
	t.Helper()
	typ, id, hasID, ok := VouchedHead(body)
	if !ok {
		return false
	}
	wtyp, wid, whasID, err := decodedHead(body)
	if err != nil {
		t.Fatalf("VouchedHead(%q) answers where encoding/json refuses: %v", body, err)
	}
	if typ != wtyp || id != wid || hasID != whasID {
		t.Fatalf("VouchedHead(%q) = %q, %q, %v; encoding/json: %q, %q, %v", body, typ, id, hasID, wtyp, wid, whasID)
	}
	return true
}

func TestVouchedHead_ReadsAsEncodingJSONOrDeclines(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"resourceType":"Patient","id":"p1","name":[{"family":"Berg"}]}`, true},
		{`{"name":[{"id":"x","resourceType":"y"}],"resourceType":"Patient"}`, true},
		{`{}`, true},
		{`{"id":"a"}`, true},
		{`{"resourceType":"Patient","id":"a","id":"b"}`, true},
		{`{"resourceType":"Observation","resourceType":"Patient"}`, true},
		{`{"resourceType":"Patient","contained":[{"resourceType":"Practitioner","id":"c"}]}`, true},
		{`{"resourceType":"Patient","id":""}`, true},
		// Left to the decoder:
		{`[]`, false},
		{`null`, false},
		{`"x"`, false},
		{`{"resourceType":"Patient","ResourceType":"Observation"}`, false},
		{`{"resourceType":"Patient","ID":"b"}`, false},
		{`{"resourceType":"Patient","Id":"b"}`, false},
		{`{"reſourceType":"Observation","resourceType":"Patient"}`, false},
		{`{"resourceType":"Patient","\u0069d":"b"}`, false},
		{`{"resourceType":"Pat\u0069ent"}`, false},
		{`{"resourceType":"Patient","id":null}`, false},
		{`{"resourceType":null}`, false},
		{`{"resourceType":7}`, false},
		{`{"resourceType":"Patient","id":7}`, false},
		{`{"resourceType":"Patient","id":"ø"}`, false},
		{`{"resourceType":"Patient","id":["a"]}`, false},
	} {
		if got := checkVouchedHead(t, []byte(c.body)); got != c.ok {
			t.Errorf("VouchedHead(%s) ok = %v, want %v", c.body, got, c.ok)
		}
	}
}

// FuzzVouchedHead: on compacted JSON, VouchedHead reads resourceType and
// id as encoding/json does, or leaves them to it.
func FuzzVouchedHead(f *testing.F) {
	for _, s := range []string{
		`{"resourceType":"Patient","id":"p1"}`, `{"ResourceType":"Patient","iD":"p1"}`,
		`{"resourceType":"Patient","id":"a","id":null}`, `{"a":{"id":"b"},"id":"c"}`, `[{"id":"a"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, ok := Compact(body)
		if !ok {
			return
		}
		checkVouchedHead(t, c)
	})
}
