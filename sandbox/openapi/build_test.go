package openapi

import (
	"encoding/json"
	"strings"
	"testing"
)

const (
	testAdmin = `{"openapi":"3.1.0","security":[{"basicAuth":[]}],"tags":[{"name":"apps"}],
"paths":{"/apps":{"get":{"tags":["apps"],"operationId":"listApps","responses":{"200":{"description":"ok"}}}}},
"components":{"securitySchemes":{"basicAuth":{"type":"http","scheme":"basic"}}}}`
	testCapability = `{"resourceType":"CapabilityStatement","rest":[{"mode":"server",
"interaction":[{"code":"transaction"}],
"resource":[{"type":"Patient","interaction":[{"code":"read"},{"code":"search-type"}],
"searchParam":[{"name":"family","type":"string"}],"operation":[{"name":"everything","definition":"x"}]}]}]}`
)

func TestBuild_GeneratesFromItsInputs(t *testing.T) {
	raw, err := Build(Input{Admin: []byte(testAdmin), AdminBase: "/admin/api", Capability: []byte(testCapability), FHIRBase: "/fhir",
		Auth: []string{"POST /auth/token", "GET /fhir/.well-known/smart-configuration"}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]struct {
			OperationID string           `json:"operationId"`
			Security    []map[string]any `json:"security"`
			Parameters  []map[string]any `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"get /admin/api/apps", "post /auth/token", "get /fhir/.well-known/smart-configuration", "get /fhir/Patient/{id}",
		"get /fhir/Patient", "get /fhir/Patient/{id}/$everything", "post /fhir", "get /fhir/metadata", "get /openapi.json"} {
		m, p, _ := strings.Cut(want, " ")
		if _, ok := d.Paths[p][m]; !ok {
			t.Errorf("%s is missing", want)
		}
	}
	for _, absent := range []string{"put /fhir/Patient/{id}", "delete /fhir/Patient/{id}", "get /fhir/_history"} {
		m, p, _ := strings.Cut(absent, " ")
		if _, ok := d.Paths[p][m]; ok {
			t.Errorf("%s is there, but the CapabilityStatement does not name it", absent)
		}
	}
	if s := d.Paths["/admin/api/apps"]["get"].Security; len(s) != 1 || s[0]["basicAuth"] == nil {
		t.Errorf("the admin operation's security is %v, want the admin document's basicAuth", s)
	}
	found := false
	for _, p := range d.Paths["/fhir/Patient"]["get"].Parameters {
		found = found || p["name"] == "family"
	}
	if !found {
		t.Error("the search parameter family is not a query parameter of GET /fhir/Patient")
	}
}

func TestBuild_RefusesWhatItCannotDescribe(t *testing.T) {
	in := Input{Admin: []byte(testAdmin), AdminBase: "/admin/api", Capability: []byte(testCapability), FHIRBase: "/fhir"}
	undocumented := in
	undocumented.Auth = []string{"POST /auth/brand-new"}
	if _, err := Build(undocumented); err == nil || !strings.Contains(err.Error(), "POST /auth/brand-new") {
		t.Errorf("an undocumented endpoint: %v, want an error naming it", err)
	}
	clash := in
	clash.Admin = []byte(strings.Replace(testAdmin, `"basicAuth":{"type"`, `"fhir.Resource":{"type"`, 1))
	clash.Admin = []byte(strings.Replace(string(clash.Admin), `"securitySchemes"`, `"schemas"`, 1))
	if _, err := Build(clash); err == nil || !strings.Contains(err.Error(), "fhir.Resource") {
		t.Errorf("a component defined twice: %v, want an error naming it", err)
	}
	broken := in
	broken.Capability = []byte(`{`)
	if _, err := Build(broken); err == nil {
		t.Error("an unreadable CapabilityStatement built a document")
	}
}

// TestBuild_ResourceSchemasFollowTheCoreDefinitions: a resource type's
// schema has its R4 elements with their JSON types, lists where R4 allows
// more than one, a property per choice type, and data types as shared
// schemas.
func TestBuild_ResourceSchemasFollowTheCoreDefinitions(t *testing.T) {
	raw, err := Build(Input{Admin: []byte(testAdmin), AdminBase: "/admin/api", Capability: []byte(testCapability), FHIRBase: "/fhir",
		Auth: []string{"POST /auth/token"}, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
				Additional *bool                     `json:"additionalProperties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	p, ok := d.Components.Schemas["fhir.Patient"]
	if !ok || p.Additional == nil || *p.Additional {
		t.Fatalf("fhir.Patient: %+v, want a closed schema", p)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	for name, want := range map[string]string{
		"resourceType":         `{"const":"Patient"}`,
		"active":               `{"type":"boolean"}`,
		"birthDate":            `{"type":"string"}`,
		"multipleBirthInteger": `{"type":"integer"}`,
		"deceasedBoolean":      `{"type":"boolean"}`,
		"deceasedDateTime":     `{"type":"string"}`,
		"name":                 `{"items":{"$ref":"#/components/schemas/fhir.dt.HumanName"},"type":"array"}`,
		"maritalStatus":        `{"allOf":[{"$ref":"#/components/schemas/fhir.dt.CodeableConcept"}]}`,
		"contained":            `{"items":{"$ref":"#/components/schemas/fhir.Resource"},"type":"array"}`,
		"contact":              `{"items":{"type":"object"},"type":"array"}`,
	} {
		if got := js(p.Properties[name]); got != want {
			t.Errorf("fhir.Patient.%s = %s, want %s", name, got, want)
		}
	}
	if _, ok := p.Properties["deceased[x]"]; ok {
		t.Error("a choice element is listed as deceased[x]")
	}
	hn := d.Components.Schemas["fhir.dt.HumanName"]
	if got := js(hn.Properties["given"]); got != `{"items":{"type":"string"},"type":"array"}` {
		t.Errorf("fhir.dt.HumanName.given = %s", got)
	}
	if got := js(hn.Properties["period"]); got != `{"type":"object"}` {
		t.Errorf("fhir.dt.HumanName.period = %s, want an object one level down", got)
	}
}
