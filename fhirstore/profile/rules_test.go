package profile

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore/outcome"
)

// testDefinitions are the core definitions with the test profiles of
// testdata/profiles (a heart-rate profile over the core one, with an
// extension, fixed, pattern, binding, invariants, max=0 and a target
// restriction).
func testDefinitions(t testing.TB) *Definitions {
	t.Helper()
	d := New()
	files, err := filepath.Glob("testdata/profiles/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Add(raw); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return d
}

func readResource(t testing.TB, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata/resources", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want is an issue a case expects: its rule, severity and where.
type want struct {
	rule string
	sev  outcome.Severity
	expr string
}

func hasIssue(issues []Issue, w want) bool {
	for _, is := range issues {
		expr := ""
		if len(is.Expression) > 0 {
			expr = is.Expression[0]
		}
		if is.Rule == w.rule && is.Severity == w.sev && expr == w.expr {
			return true
		}
	}
	return false
}

func TestValidate_RulesByKind(t *testing.T) {
	d := testDefinitions(t)
	tests := []struct {
		name   string
		file   string
		change func(m map[string]any)
		want   []want // nil: no error nor warning from the profile's own rules
	}{
		{name: "conforming heart rate validates", file: "observation-heartrate.json", change: func(map[string]any) {}},
		{name: "Cardinality_MissingRequiredElement", file: "observation-heartrate.json",
			change: func(m map[string]any) { delete(m, "status") },
			want:   []want{{"cardinality", outcome.ErrorLevel, "Observation"}}},
		{name: "Cardinality_MaxZeroInProfile", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["note"] = []any{map[string]any{"text": "n"}} },
			want:   []want{{"cardinality", outcome.ErrorLevel, "Observation.note"}}},
		{name: "Structure_UnknownProperty", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["colour"] = "red" },
			want:   []want{{"structure", outcome.ErrorLevel, "Observation.colour"}}},
		{name: "Choice_TypeNotAllowed", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["effectiveQuantity"] = map[string]any{"value": 1} },
			want:   []want{{"structure", outcome.ErrorLevel, "Observation.effectiveQuantity"}}},
		{name: "Primitive_BadDateTime", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["effectiveDateTime"] = "yesterday" },
			want:   []want{{"type", outcome.ErrorLevel, "Observation.effectiveDateTime"}}},
		{name: "Primitive_ArrayWhereSingle", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["status"] = []any{"final"} },
			want:   []want{{"json", outcome.ErrorLevel, "Observation.status"}}},
		{name: "Fixed_StatusNotFinal", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["status"] = "amended" },
			want:   []want{{"fixed", outcome.ErrorLevel, "Observation.status"}}},
		{name: "Pattern_MethodCodeDiffers", file: "observation-heartrate.json",
			change: func(m map[string]any) {
				m["method"] = map[string]any{"coding": []any{map[string]any{"system": "http://example.org/methods", "code": "manual"}}}
			},
			want: []want{{"pattern", outcome.ErrorLevel, "Observation.method"}}},
		{name: "Binding_RequiredCodeNotInValueSet", file: "observation-heartrate.json",
			change: func(m map[string]any) {
				m["interpretation"] = []any{map[string]any{"coding": []any{map[string]any{
					"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "A"}}}}
			},
			want: []want{{"binding", outcome.ErrorLevel, "Observation.interpretation[0]"}}},
		{name: "Binding_CoreRequiredStatus", file: "observation-bp.json",
			change: func(m map[string]any) { m["status"] = "done" },
			want:   []want{{"binding", outcome.ErrorLevel, "Observation.status"}}},
		{name: "Binding_ExtensibleIsWarning", file: "observation-bp.json",
			change: func(m map[string]any) {
				m["interpretation"] = []any{map[string]any{"coding": []any{map[string]any{"system": "http://example.org/flags", "code": "low"}}}}
			},
			want: []want{{"binding", outcome.Warning, "Observation.interpretation[0]"}}},
		{name: "Slicing_RequiredSliceMissing", file: "observation-bp.json",
			change: func(m map[string]any) { m["component"] = m["component"].([]any)[:1] },
			want:   []want{{"DiastolicBP", outcome.ErrorLevel, "Observation.component"}}},
		{name: "Slicing_ExtensionSliceTooMany", file: "observation-heartrate.json",
			change: func(m map[string]any) {
				e := map[string]any{"url": "http://example.org/fhir/StructureDefinition/battery-level", "valueInteger": 50}
				m["extension"] = []any{e, e}
			},
			want: []want{{"battery", outcome.ErrorLevel, "Observation.extension"}}},
		{name: "Extension_ValueAboveMax", file: "observation-heartrate.json",
			change: func(m map[string]any) {
				m["extension"] = []any{map[string]any{"url": "http://example.org/fhir/StructureDefinition/battery-level", "valueInteger": 150}}
			},
			want: []want{{"maxValue", outcome.ErrorLevel, "Observation.extension[0].valueInteger"}}},
		{name: "Extension_WrongValueType", file: "observation-heartrate.json",
			change: func(m map[string]any) {
				m["extension"] = []any{map[string]any{"url": "http://example.org/fhir/StructureDefinition/battery-level", "valueString": "full"}}
			},
			want: []want{{"cardinality", outcome.ErrorLevel, "Observation.extension[0]"}}},
		{name: "Invariant_CoreObs6", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["dataAbsentReason"] = map[string]any{"text": "lost"} },
			want:   []want{{"obs-6", outcome.ErrorLevel, "Observation"}}},
		{name: "Invariant_ProfileError", file: "observation-heartrate.json",
			change: func(m map[string]any) { delete(m, "device") },
			want:   []want{{"hrd-1", outcome.ErrorLevel, "Observation"}}},
		{name: "Invariant_ProfileWarning", file: "observation-heartrate.json",
			change: func(m map[string]any) { delete(m, "issued") },
			want:   []want{{"hrd-2", outcome.Warning, "Observation"}}},
		{name: "Reference_TargetTypeNotAllowed", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["subject"] = map[string]any{"reference": "Group/g1"} },
			want:   []want{{"reference", outcome.ErrorLevel, "Observation.subject"}}},
		{name: "Contained_ValidatedAsOwnType", file: "observation-heartrate.json",
			change: func(m map[string]any) {
				m["contained"] = []any{map[string]any{"resourceType": "Device", "id": "d1", "colour": "red"}}
				m["device"] = map[string]any{"reference": "#d1"}
			},
			want: []want{{"structure", outcome.ErrorLevel, "Observation.contained[0].colour"}}},
		{name: "JSON_EmptyArray", file: "observation-heartrate.json",
			change: func(m map[string]any) { m["identifier"] = []any{} },
			want:   []want{{"json", outcome.ErrorLevel, "Observation.identifier"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readResource(t, tt.file)
			tt.change(m)
			issues := d.Validate(marshal(t, m), Options{})
			if tt.want == nil {
				for _, is := range issues {
					if is.Severity == outcome.ErrorLevel || is.Severity == outcome.Fatal || is.Severity == outcome.Warning && is.Rule != "dom-6" {
						t.Errorf("unexpected issue: %+v", is)
					}
				}
				return
			}
			for _, w := range tt.want {
				if !hasIssue(issues, w) {
					t.Errorf("missing %+v; got:\n%s", w, dump(issues))
				}
			}
		})
	}
}

func TestValidate_BundleEntriesEachAgainstTheirType(t *testing.T) {
	obs := readResource(t, "observation-bp.json")
	delete(obs, "status")
	bundle := map[string]any{"resourceType": "Bundle", "type": "collection", "entry": []any{
		map[string]any{"fullUrl": "http://example.org/fhir/Observation/blood-pressure", "resource": obs},
		map[string]any{"fullUrl": "http://example.org/fhir/Patient/p", "resource": map[string]any{"resourceType": "Patient", "birthDate": "1970-13-01"}},
	}}
	issues := Core().Validate(marshal(t, bundle), Options{})
	for _, w := range []want{
		{"cardinality", outcome.ErrorLevel, "Bundle.entry[0].resource"},
		{"type", outcome.ErrorLevel, "Bundle.entry[1].resource.birthDate"},
	} {
		if !hasIssue(issues, w) {
			t.Errorf("missing %+v; got:\n%s", w, dump(issues))
		}
	}
}

func TestValidate_UncheckableSystemIsInformation(t *testing.T) {
	d := New()
	vs := `{"resourceType":"ValueSet","url":"http://example.org/vs/sct","compose":{"include":[{"system":"http://snomed.info/sct","filter":[{"property":"concept","op":"is-a","value":"404684003"}]}]}}`
	sd := `{"resourceType":"StructureDefinition","url":"http://example.org/sd/cond","type":"Condition","kind":"resource","derivation":"constraint",
		"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Condition",
		"differential":{"element":[{"id":"Condition.code","path":"Condition.code","binding":{"strength":"required","valueSet":"http://example.org/vs/sct"}}]}}`
	for _, r := range []string{vs, sd} {
		if err := d.Add([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	cond := `{"resourceType":"Condition","subject":{"reference":"Patient/p"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"22298006"}]}}`
	issues := d.Validate([]byte(cond), Options{Profiles: []string{"http://example.org/sd/cond"}})
	if HasErrors(issues) {
		t.Fatalf("a SNOMED CT code was judged: %s", dump(issues))
	}
	if !hasIssue(issues, want{"binding", outcome.Information, "Condition.code"}) {
		t.Errorf("no note that the code was not checked: %s", dump(issues))
	}
}

func TestValidate_NotJSONIsFatal(t *testing.T) {
	for _, in := range []string{``, `{`, `{"resourceType": "Patient", // c` + "\n}", `[]`, `{"resourceType":"Nope"}`} {
		issues := Core().Validate([]byte(in), Options{})
		if !HasErrors(issues) {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestValidate_OrderIsDeterministic(t *testing.T) {
	m := readResource(t, "observation-heartrate.json")
	m["status"], m["colour"], m["note"] = "amended", "red", []any{map[string]any{"text": "n"}}
	raw := marshal(t, m)
	d := testDefinitions(t)
	first := dump(d.Validate(raw, Options{}))
	for range 5 {
		if got := dump(d.Validate(raw, Options{})); got != first {
			t.Fatalf("issues changed between runs:\n%s\n---\n%s", first, got)
		}
	}
}

func dump(issues []Issue) string {
	var b strings.Builder
	for _, is := range issues {
		b.WriteString(string(is.Severity) + " " + is.Rule + " " + strings.Join(is.Expression, ",") + ": " + is.Diagnostics + "\n")
	}
	return b.String()
}

// TestValidate_RememberedInvariantsFollowTheValues: invariant answers are
// remembered per projection of what they read; alternating documents that
// differ only there must keep getting their own answers.
func TestValidate_RememberedInvariantsFollowTheValues(t *testing.T) {
	good := []byte(`{"resourceType":"Observation","status":"final","code":{"text":"w"},"valueQuantity":{"value":1,"system":"http://unitsofmeasure.org","code":"kg"}}`)
	bad := []byte(`{"resourceType":"Observation","status":"final","code":{"text":"w"},"valueQuantity":{"value":1,"code":"kg"}}`)
	absent := []byte(`{"resourceType":"Observation","status":"final","code":{"text":"w"},"valueQuantity":{"value":1},"dataAbsentReason":{"text":"x"}}`)
	for range 3 {
		if issues := Core().Validate(good, Options{}); HasErrors(issues) {
			t.Fatalf("good: %s", dump(issues))
		}
		if issues := Core().Validate(bad, Options{}); !hasIssue(issues, want{"qty-3", outcome.ErrorLevel, "Observation.valueQuantity"}) {
			t.Fatalf("bad: no qty-3 in %s", dump(issues))
		}
		if issues := Core().Validate(absent, Options{}); !hasIssue(issues, want{"obs-6", outcome.ErrorLevel, "Observation"}) {
			t.Fatalf("absent: no obs-6 in %s", dump(issues))
		}
	}
}
