package fhirapi_test

import (
	"net/http"
	"strings"
	"testing"
)

const bom = "\xEF\xBB\xBF"

// Every interaction that reads a body ignores a leading UTF-8 byte-order
// mark, as other FHIR servers do: Windows tools write one.
func TestBodies_LeadingByteOrderMarkIsIgnored(t *testing.T) {
	fp := map[string]string{"Content-Type": "application/fhir+json"}
	jp := map[string]string{"Content-Type": "application/json-patch+json"}
	tests := []struct {
		name   string
		c      call
		status int
		want   string // in the answer
	}{
		{"create", call{method: "POST", path: "/fhir/Patient", body: `{"resourceType":"Patient","gender":"female"}`}, 201, `"gender":"female"`},
		{"update", call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, 200, `"versionId":"2"`},
		{"update creating", call{method: "PUT", path: "/fhir/Patient/p2", body: strings.Replace(patientP1, `"p1"`, `"p2"`, 1)}, 201, `"id":"p2"`},
		{"conditional create", call{method: "POST", path: "/fhir/Patient", body: `{"resourceType":"Patient"}`, header: map[string]string{"If-None-Exist": "_id=p1"}}, 200, `"id":"p1"`},
		{"conditional update", call{method: "PUT", path: "/fhir/Patient?_id=p1", body: patientP1}, 200, `"versionId":"2"`},
		{"JSON Patch", call{method: "PATCH", path: "/fhir/Patient/p1", body: `[{"op":"add","path":"/active","value":true}]`, header: jp}, 200, `"active":true`},
		{"FHIRPath Patch", call{method: "PATCH", path: "/fhir/Patient/p1", header: fp, body: `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[` +
			`{"name":"type","valueCode":"add"},{"name":"path","valueString":"Patient"},{"name":"name","valueString":"gender"},{"name":"value","valueCode":"female"}]}]}`}, 200, `"gender":"female"`},
		{"transaction", call{method: "POST", path: "/fhir", body: `{"resourceType":"Bundle","type":"transaction","entry":[` +
			`{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`}, 200, `"status":"201 Created"`},
		{"batch", call{method: "POST", path: "/fhir", body: `{"resourceType":"Bundle","type":"batch","entry":[` +
			`{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`}, 200, `"status":"201 Created"`},
		{"$validate of a resource", call{method: "POST", path: "/fhir/Patient/$validate", body: `{"resourceType":"Patient"}`}, 200, "is valid FHIR R4"},
		{"$validate of a Parameters", call{method: "POST", path: "/fhir/Patient/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}}]}`}, 200, "is valid FHIR R4"},
		{"$meta-add", call{method: "POST", path: "/fhir/Patient/p1/$meta-add", body: metaParams(`{"tag":[{"system":"urn:sandbox","code":"bom"}]}`)}, 200, `"code":"bom"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t)
			mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
			tt.c.body = bom + tt.c.body
			rec := mustDo(t, e, tt.c, tt.status)
			if !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("answer %s lacks %s", rec.Body, tt.want)
			}
		})
	}
}
