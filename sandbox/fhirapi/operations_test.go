package fhirapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// What a patch means is the engine's (interaction.TestPatch_*); here, what
// HTTP adds: the media type choosing the patch format, If-Match, statuses.
func TestPatch_JSONPatchValidatedAndVersioned(t *testing.T) {
	e, _ := newEngine(t)
	mustDo(t, e, call{method: "PUT", path: "/fhir/Patient/p1", body: patientP1}, http.StatusCreated)
	jp := map[string]string{"Content-Type": "application/json-patch+json"}
	tests := []struct {
		name   string
		patch  string
		header map[string]string
		status int
	}{
		{"replace birthDate", `[{"op":"replace","path":"/birthDate","value":"1981-02-03"}]`, nil, 200},
		{"guarded by current version", `[{"op":"add","path":"/active","value":true}]`, map[string]string{"If-Match": `W/"2"`}, 200},
		{"stale If-Match", `[{"op":"add","path":"/active","value":false}]`, map[string]string{"If-Match": `W/"1"`}, 412},
		{"result invalid: bad date", `[{"op":"replace","path":"/birthDate","value":"soon"}]`, nil, 422},
		{"malformed patch", `{"op":"replace"}`, nil, 400},
		{"FHIRPath Patch", `{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},` +
			`{"name":"path","valueString":"Patient"},{"name":"name","valueString":"gender"},{"name":"value","valueCode":"female"}]}]}`,
			map[string]string{"Content-Type": "application/fhir+json"}, 200},
		{"other media type", `x`, map[string]string{"Content-Type": "text/plain"}, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			for k, v := range jp {
				h[k] = v
			}
			for k, v := range tt.header {
				h[k] = v
			}
			rec := do(t, e, call{method: "PATCH", path: "/fhir/Patient/p1", body: tt.patch, header: h})
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
		})
	}
	rec := mustDo(t, e, call{method: "GET", path: "/fhir/Patient/p1"}, http.StatusOK)
	if rec.Header().Get("ETag") != `W/"4"` || !strings.Contains(rec.Body.String(), `"birthDate":"1981-02-03"`) ||
		!strings.Contains(rec.Body.String(), `"active":true`) || !strings.Contains(rec.Body.String(), `"gender":"female"`) {
		t.Errorf("after patches: %s %s (only the three valid patches may have landed)", rec.Header().Get("ETag"), rec.Body)
	}
	do404 := do(t, e, call{method: "PATCH", path: "/fhir/Patient/nobody", body: `[]`, header: jp})
	if do404.Code != http.StatusNotFound {
		t.Errorf("patch of unknown: %d", do404.Code)
	}
}

// What $validate finds is the engine's (interaction.TestValidate_*); here,
// what HTTP adds: 200 with the verdict, mode from the query, statuses.
func TestValidate_ReportsWithoutWriting(t *testing.T) {
	e, _ := newEngine(t)
	tests := []struct {
		name, path, body, want string
		status                 int
	}{
		{"valid resource", "/fhir/Patient/$validate", patientP1, `"severity":"information"`, 200},
		{"invalid resource names the path", "/fhir/Patient/$validate", `{"resourceType":"Patient","birthDate":"x"}`, `"Patient.birthDate"`, 200},
		{"wrapped in Parameters", "/fhir/Patient/$validate", `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + patientP1 + `}]}`, `"severity":"information"`, 200},
		{"bad mode", "/fhir/Patient/$validate?mode=upsert", patientP1, `"mode"`, 400},
		{"delete mode on unknown", "/fhir/Patient/nobody/$validate?mode=delete", patientP1, `not-found`, 404},
		{"profile from the query", "/fhir/Patient/$validate?profile=http://hl7.org/fhir/StructureDefinition/bp", patientP1, `"severity":"error"`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(t, e, call{method: "POST", path: tt.path, body: tt.body})
			if rec.Code != tt.status || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("%d %s, want %d containing %s", rec.Code, rec.Body, tt.status, tt.want)
			}
		})
	}
	var list struct{ Total int }
	decode(t, mustDo(t, e, call{method: "GET", path: "/fhir/_history"}, http.StatusOK), &list)
	if list.Total != 0 {
		t.Errorf("$validate wrote %d versions", list.Total)
	}
	if rec := do(t, e, call{method: "GET", path: "/fhir/Patient/$validate"}); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET $validate: %d", rec.Code)
	}
	if rec := do(t, e, call{method: "POST", path: "/fhir/Patient/$frobnicate", body: patientP1}); rec.Code != http.StatusNotImplemented {
		t.Errorf("unknown operation: %d", rec.Code)
	}
}

// A Parameters whose parameters carry resources is valid R4, wherever it
// comes: created, validated, or in a transaction.
func TestParameters_WithResourcesAreAccepted(t *testing.T) {
	params := `{"resourceType":"Parameters","parameter":[{"name":"one","resource":{"resourceType":"Patient","id":"1","name":[{"text":"patient-name"}]}},` +
		`{"name":"two","part":[{"name":"three","resource":{"resourceType":"Observation","status":"final","code":{"text":"x"}}}]}]}`
	tests := []struct {
		name   string
		c      call
		status int
		want   string
	}{
		{"create", call{method: "POST", path: "/fhir/Parameters", body: params}, 201, `"name":"three"`},
		{"$validate of the Parameters, wrapped", call{method: "POST", path: "/fhir/Parameters/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + params + `}]}`}, 200, "is valid FHIR R4"},
		{"$validate of a resource holding one", call{method: "POST", path: "/fhir/Patient/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient","contained":[` + params + `]}}]}`}, 200, "is valid FHIR R4"},
		{"$validate of the Parameters itself", call{method: "POST", path: "/fhir/Parameters/$validate", body: params}, 200, "is valid FHIR R4"},
		{"$validate finds what is wrong inside", call{method: "POST", path: "/fhir/Parameters/$validate",
			body: `{"resourceType":"Parameters","parameter":[{"name":"resource","resource":` + strings.Replace(params, `"status":"final",`, ``, 1) + `}]}`},
			200, `"expression":["Parameters.parameter[1].part[0].resource.Observation.status"]`},
		{"transaction", call{method: "POST", path: "/fhir", body: `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + params +
			`,"request":{"method":"POST","url":"Parameters"}}]}`}, 200, `"status":"201 Created"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t)
			rec := mustDo(t, e, tt.c, tt.status)
			if !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("answer %s lacks %s", rec.Body, tt.want)
			}
		})
	}
}
