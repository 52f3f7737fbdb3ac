package searchparam

import (
	"slices"
	"testing"
)

func TestLookup_FindsSpecificationParameters(t *testing.T) {
	tests := []struct {
		resourceType, code string
		typ                Type
		expression         string
	}{
		{"Patient", "birthdate", Date, "Patient.birthDate"},
		{"Observation", "code", Token, "Observation.code"},
		{"Observation", "patient", Reference, "Observation.subject.where(resolve() is Patient)"},
		{"Observation", "value-quantity", Quantity, "(Observation.value as Quantity) | (Observation.value as SampledData)"},
		{"InsurancePlan", "name", String, "InsurancePlan.name | InsurancePlan.alias"},
		{"Encounter", "_lastUpdated", Date, "Encounter.meta.lastUpdated"},
		{"Binary", "_id", Token, "Binary.id"},
		{"MedicationRequest", "code", Token, "(MedicationRequest.medication as CodeableConcept)"},
	}
	for _, tt := range tests {
		p, ok := Lookup(tt.resourceType, tt.code)
		if !ok {
			t.Errorf("Lookup(%s, %s) not found", tt.resourceType, tt.code)
			continue
		}
		if p.Type != tt.typ || p.Expression != tt.expression {
			t.Errorf("Lookup(%s, %s) = %v %q, want %v %q", tt.resourceType, tt.code, p.Type, p.Expression, tt.typ, tt.expression)
		}
	}
	if _, ok := Lookup("Patient", "no-such"); ok {
		t.Error("Lookup found an unknown code")
	}
}

func TestLookup_CompositeHasComponentsWithTypes(t *testing.T) {
	p, _ := Lookup("Observation", "component-code-value-quantity")
	want := []Component{
		{Code: "component-code", URL: "http://hl7.org/fhir/SearchParameter/Observation-component-code", Type: Token, Expression: "code"},
		{Code: "component-value-quantity", URL: "http://hl7.org/fhir/SearchParameter/Observation-component-value-quantity", Type: Quantity, Expression: "value.as(Quantity)"},
	}
	if p == nil || p.Expression != "Observation.component" || !slices.Equal(p.Components, want) {
		t.Errorf("got %+v", p)
	}
}

func TestLookup_ReferenceHasTargets(t *testing.T) {
	p, _ := Lookup("Observation", "subject")
	if !slices.Equal(p.Targets, []string{"Device", "Group", "Location", "Patient"}) {
		t.Errorf("targets = %v", p.Targets)
	}
}

func TestForType_EveryTypeHasResourceParamsSortedByCode(t *testing.T) {
	types := ResourceTypes()
	// The 146 of FHIR R4, Parameters among them, which neither the
	// compartment definition nor any SearchParameter names.
	if len(types) != 146 || !slices.Contains(types, "Parameters") {
		t.Errorf("%d resource types, want the 146 of FHIR R4", len(types))
	}
	for _, rt := range types {
		ps := ForType(rt)
		codes := make([]string, len(ps))
		for i, p := range ps {
			codes[i] = p.Code
		}
		if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != len(codes) {
			t.Errorf("%s: codes not sorted and unique: %v", rt, codes)
		}
		for _, c := range []string{"_id", "_lastUpdated", "_profile", "_security", "_source", "_tag"} {
			if !slices.Contains(codes, c) {
				t.Errorf("%s lacks %s", rt, c)
			}
		}
	}
	if ForType("NoSuchType") != nil {
		t.Error("ForType of an unknown type is not nil")
	}
}

func TestPatientCompartment(t *testing.T) {
	tests := []struct {
		resourceType string
		want         []string
	}{
		{"Observation", []string{"subject", "performer"}},
		{"Patient", []string{"link"}},
		{"Organization", nil},
	}
	for _, tt := range tests {
		if got := PatientCompartment(tt.resourceType); !slices.Equal(got, tt.want) {
			t.Errorf("PatientCompartment(%s) = %v, want %v", tt.resourceType, got, tt.want)
		}
	}
}

func TestPatientCompartment_ParamsExist(t *testing.T) {
	for _, rt := range ResourceTypes() {
		for _, code := range PatientCompartment(rt) {
			if code == "{def}" {
				continue
			}
			if _, ok := Lookup(rt, code); !ok {
				t.Errorf("%s compartment param %s is not a parameter of the type", rt, code)
			}
		}
	}
}

func TestEveryParameterCompiles(t *testing.T) {
	fast, slow := 0, 0
	for _, rt := range ResourceTypes() {
		ps, err := compileType(rt, false)
		if err != nil {
			t.Errorf("%s: %v", rt, err)
			continue
		}
		for _, p := range ps {
			for _, e := range append([]compiledExpr{p.expr}, p.components...) {
				if e.slow != nil {
					slow++
				} else {
					fast++
				}
			}
		}
		if _, err := compileType(rt, true); err != nil {
			t.Errorf("%s with the FHIRPath engine only: %v", rt, err)
		}
	}
	t.Logf("%d expressions on the fast path, %d through the FHIRPath engine", fast, slow)
	if slow > 10 {
		t.Errorf("%d expressions need the FHIRPath engine; the fast path should cover all but a few", slow)
	}
}
