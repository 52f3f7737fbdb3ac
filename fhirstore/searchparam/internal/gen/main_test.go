package main

import (
	"slices"
	"testing"

	"hpsandbox/fhirstore/searchparam/internal/union"
)

func TestForBase_KeepsOnlyThePartsOfTheBase(t *testing.T) {
	tests := []struct{ expr, base, typ, want string }{
		{"AllergyIntolerance.code | AllergyIntolerance.reaction.substance | Condition.code", "AllergyIntolerance", "AllergyIntolerance",
			"AllergyIntolerance.code | AllergyIntolerance.reaction.substance"},
		{"AllergyIntolerance.code | (MedicationRequest.medication as CodeableConcept)", "MedicationRequest", "MedicationRequest",
			"(MedicationRequest.medication as CodeableConcept)"},
		{"name | alias", "InsurancePlan", "InsurancePlan", "InsurancePlan.name | InsurancePlan.alias"},
		{"Resource.meta.tag", "Resource", "Patient", "Patient.meta.tag"},
		{"Patient.telecom.where(system='phone') | Person.telecom.where(system='phone')", "Person", "Person",
			"Person.telecom.where(system='phone')"},
		{"Patient.deceased.exists() and Patient.deceased != false", "Patient", "Patient",
			"Patient.deceased.exists() and Patient.deceased != false"},
	}
	for _, tt := range tests {
		if got := forBase(tt.expr, tt.base, tt.typ); got != tt.want {
			t.Errorf("forBase(%q, %s) = %q, want %q", tt.expr, tt.base, got, tt.want)
		}
	}
}

func TestSplitUnion_IgnoresBarsInBracketsAndQuotes(t *testing.T) {
	got := union.Split("A.b | (A.c as X) | A.d.where(e='f|g') | A.h[0]")
	want := []string{"A.b", "(A.c as X)", "A.d.where(e='f|g')", "A.h[0]"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
