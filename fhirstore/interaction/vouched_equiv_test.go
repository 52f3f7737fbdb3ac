package interaction

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"hpsandbox/fhirstore/fhirjson"
)

// vouchedByDecoder is vouchedResource as it was before fhirjson.Compact
// and fhirjson.VouchedHead: encoding/json compacts the body and decodes
// its head. The new reading must answer as it does.
func vouchedByDecoder(body []byte) (*fhirjson.Resource, error) {
	body = fhirjson.TrimBOM(body)
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return fhirjson.Parse(body)
	}
	var head struct {
		ResourceType string  `json:"resourceType"`
		ID           *string `json:"id"`
	}
	if json.Unmarshal(compact.Bytes(), &head) != nil || !fhirjson.IsType(head.ResourceType) ||
		(head.ID != nil && !fhirjson.ValidID(*head.ID)) {
		return fhirjson.Parse(body)
	}
	res := &fhirjson.Resource{Type: head.ResourceType, Body: compact.Bytes()}
	if head.ID != nil {
		res.ID = *head.ID
	}
	return res, nil
}

func checkVouchedAsDecoder(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := vouchedResource(body)
	want, wantErr := vouchedByDecoder(body)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Fatalf("vouched %q: error %v, before %v", body, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if got.Type != want.Type || got.ID != want.ID || !bytes.Equal(got.Body, want.Body) {
		t.Fatalf("vouched %q: %s/%s %s, before %s/%s %s", body, got.Type, got.ID, got.Body, want.Type, want.ID, want.Body)
	}
}

var vouchedCases = []string{
	`{"resourceType":"Patient","id":"p1","name":[{"family":"Nordmann"}]}`,
	"\ufeff{ \"resourceType\" : \"Observation\", \"status\":\"final\", \"code\":{\"text\":\"x\"} }",
	`{"resourceType":"Patient","id":""}`, `{"resourceType":"Patientx"}`, `{"id":"a"}`, `[]`, `null`, `{`, ``,
	`{"resourceType":"Patient","id":"a b"}`, `{"resourceType":"Patient","id":7}`,
	`{"resourceType":"Patient","ResourceType":"Observation","status":"final","code":{"text":"x"}}`,
	`{"resourceType":"Observation","RESOURCETYPE":"Patient"}`, `{"resourceType":"Patient","ID":"q"}`,
	`{"resourceType":"Patient","id":null}`, `{"resourceType":"Pat\u0069ent","\u0069d":"x"}`,
	`{"resourceType":"Patient","id":"ø"}`, `{"resourceType":"Patient","id":"a","id":"b"}`,
	`{"reſourceType":"Observation","resourceType":"Patient"}`, `{"resourceType":"Patient"} x`,
}

func TestVouchedResource_AnswersAsTheDecoderDid(t *testing.T) {
	for _, c := range vouchedCases {
		checkVouchedAsDecoder(t, []byte(c))
	}
}

// FuzzVouchedResource_AsTheDecoderDid: whatever the body, vouchedResource
// answers as its encoding/json reading did: the same resource or error.
func FuzzVouchedResource_AsTheDecoderDid(f *testing.F) {
	for _, c := range vouchedCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkVouchedAsDecoder(t, body)
	})
}
