package fhirpatch

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const patient = `{"resourceType":"Patient","id":"p1","identifier":[{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"01818512345"},{"system":"urn:x","value":"9"}],` +
	`"name":[{"family":"Nordmann","given":["Kari","Anne"]}],"birthDate":"1985-01-01","telecom":[{"system":"phone","value":"+47 40000001"}]}`

func operation(parts ...string) string {
	return `{"name":"operation","part":[` + strings.Join(parts, ",") + `]}`
}

func params(ops ...string) []byte {
	return []byte(`{"resourceType":"Parameters","parameter":[` + strings.Join(ops, ",") + `]}`)
}

func typ(t string) string  { return `{"name":"type","valueCode":"` + t + `"}` }
func path(p string) string { return `{"name":"path","valueString":"` + p + `"}` }
func name(n string) string { return `{"name":"name","valueString":"` + n + `"}` }
func val(k, v string) string {
	return `{"name":"value","value` + k + `":` + v + `}`
}
func integer(n, v string) string { return `{"name":"` + n + `","valueInteger":` + v + `}` }

func TestApply_Operations(t *testing.T) {
	tests := []struct {
		name  string
		patch []byte
		check func(t *testing.T, got map[string]any)
	}{
		{"replace a primitive", params(operation(typ("replace"), path("Patient.birthDate"), val("Date", `"1986-02-03"`))),
			func(t *testing.T, g map[string]any) { want(t, g["birthDate"], "1986-02-03") }},
		{"add a non-repeating element creates a value", params(operation(typ("add"), path("Patient"), name("gender"), val("Code", `"female"`))),
			func(t *testing.T, g map[string]any) { want(t, g["gender"], "female") }},
		{"add a repeating element creates a list", params(operation(typ("add"), path("Patient"), name("communication"),
			`{"name":"value","part":[{"name":"language","valueCodeableConcept":{"text":"norsk"}},{"name":"preferred","valueBoolean":true}]}`)),
			func(t *testing.T, g map[string]any) {
				c := g["communication"].([]any)
				want(t, len(c), 1)
				want(t, c[0].(map[string]any)["preferred"], true)
			}},
		{"add appends to a list", params(operation(typ("add"), path("Patient.name[0]"), name("given"), val("String", `"Marie"`))),
			func(t *testing.T, g map[string]any) { want(t, given(g), "Kari,Anne,Marie") }},
		{"insert at index", params(operation(typ("insert"), path("Patient.name[0].given"), val("String", `"Marie"`), integer("index", "1"))),
			func(t *testing.T, g map[string]any) { want(t, given(g), "Kari,Marie,Anne") }},
		{"move within a list", params(operation(typ("move"), path("Patient.name[0].given"), integer("source", "0"), integer("destination", "1"))),
			func(t *testing.T, g map[string]any) { want(t, given(g), "Anne,Kari") }},
		{"delete by where()", params(operation(typ("delete"), path("Patient.identifier.where(system='urn:x')"))),
			func(t *testing.T, g map[string]any) { want(t, len(g["identifier"].([]any)), 1) }},
		{"delete of nothing is no change", params(operation(typ("delete"), path("Patient.deceased"))),
			func(t *testing.T, g map[string]any) { want(t, g["birthDate"], "1985-01-01") }},
		{"delete the last of a list drops it", params(operation(typ("delete"), path("Patient.telecom[0]"))),
			func(t *testing.T, g map[string]any) { want(t, g["telecom"] == nil, true) }},
		{"replace inside where() and first()", params(operation(typ("replace"),
			path("Patient.identifier.where(system='urn:oid:2.16.578.1.12.4.1.4.1' and value='01818512345').first().value"), val("String", `"02818512345"`))),
			func(t *testing.T, g map[string]any) {
				want(t, g["identifier"].([]any)[0].(map[string]any)["value"], "02818512345")
			}},
		{"several operations in order", params(
			operation(typ("delete"), path("Patient.name[0].given[1]")),
			operation(typ("replace"), path("Patient.name[0].family"), val("String", `"Hansen"`))),
			func(t *testing.T, g map[string]any) {
				want(t, given(g), "Kari")
				want(t, g["name"].([]any)[0].(map[string]any)["family"], "Hansen")
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Apply([]byte(patient), tt.patch)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestApply_ChoiceElementByItsFHIRPathName(t *testing.T) {
	obs := `{"resourceType":"Observation","status":"final","statusReason":"x","code":{"text":"puls"},"valueQuantity":{"value":72.0,"unit":"/min"}}`
	out, err := Apply([]byte(obs), params(operation(typ("replace"), path("Observation.value.value"), val("Decimal", "74.0"))))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"value":74.0`) || !strings.Contains(string(out), `"statusReason":"x"`) {
		t.Errorf("got %s", out)
	}
	// status must not reach statusReason: only data-type suffixes make a choice.
	if _, err := Apply([]byte(`{"resourceType":"Observation","statusReason":"x"}`), params(operation(typ("replace"), path("Observation.status"), val("Code", `"final"`)))); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("status matched statusReason: %v", err)
	}
}

func TestApply_RefusesBadAndUnapplicablePatches(t *testing.T) {
	tests := []struct {
		name  string
		patch []byte
		want  error
	}{
		{"not Parameters", []byte(`{"resourceType":"Patient"}`), ErrInvalid},
		{"other parameter", []byte(`{"resourceType":"Parameters","parameter":[{"name":"x"}]}`), ErrInvalid},
		{"unknown type", params(operation(typ("upsert"), path("Patient"))), ErrInvalid},
		{"add without name", params(operation(typ("add"), path("Patient"), val("Code", `"male"`))), ErrInvalid},
		{"insert without index", params(operation(typ("insert"), path("Patient.name"), val("String", `"x"`))), ErrInvalid},
		{"unsupported function", params(operation(typ("delete"), path("Patient.name.exists()"))), ErrInvalid},
		{"path of another type", params(operation(typ("delete"), path("Observation.status"))), ErrNotApplicable},
		{"replace selects two", params(operation(typ("replace"), path("Patient.identifier"), val("String", `"x"`))), ErrNotApplicable},
		{"replace selects none", params(operation(typ("replace"), path("Patient.gender"), val("Code", `"male"`))), ErrNotApplicable},
		{"add to existing single", params(operation(typ("add"), path("Patient"), name("birthDate"), val("Date", `"2000-01-01"`))), ErrNotApplicable},
		{"insert past the end", params(operation(typ("insert"), path("Patient.name[0].given"), val("String", `"x"`), integer("index", "5"))), ErrNotApplicable},
		{"move out of range", params(operation(typ("move"), path("Patient.identifier"), integer("source", "0"), integer("destination", "2"))), ErrNotApplicable},
		{"delete the resource", params(operation(typ("delete"), path("Patient"))), ErrNotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Apply([]byte(patient), tt.patch); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func given(g map[string]any) string {
	var out []string
	for _, v := range g["name"].([]any)[0].(map[string]any)["given"].([]any) {
		out = append(out, v.(string))
	}
	return strings.Join(out, ",")
}

func want(t *testing.T, got, w any) {
	t.Helper()
	if got != w {
		t.Errorf("got %v, want %v", got, w)
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte(patient), params(operation(typ("insert"), path("Patient.name[0].given"), val("String", `"M"`), integer("index", "0"))))
	f.Add([]byte(patient), params(operation(typ("delete"), path("Patient.identifier.where(system='urn:x')"))))
	f.Fuzz(func(t *testing.T, res, patch []byte) {
		out, err := Apply(res, patch)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON out: %q", out)
		}
	})
}

func TestApply_PathOfAnotherTypeNamesItWithItsArticle(t *testing.T) {
	_, err := Apply([]byte(`{"resourceType":"Observation","status":"final","code":{"text":"x"}}`), params(operation(typ("delete"), path("Patient.gender"))))
	if err == nil || !strings.HasSuffix(err.Error(), "the resource is an Observation") {
		t.Errorf("error %v, want one ending \"the resource is an Observation\"", err)
	}
}
