package outcome

import (
	"errors"
	"fmt"
	"testing"
)

func TestArticle_AnBeforeAVowel(t *testing.T) {
	for noun, want := range map[string]string{
		"Encounter": "an Encounter", "Observation": "an Observation", "AllergyIntolerance": "an AllergyIntolerance",
		"ImagingStudy": "an ImagingStudy", "Patient": "a Patient", "Bundle": "a Bundle", "": "a ",
	} {
		if got := Article(noun); got != want {
			t.Errorf("Article(%q) = %q, want %q", noun, got, want)
		}
	}
}

func TestError_NamesItsCategoryAndDiagnostics(t *testing.T) {
	e := New(Missing, NotFound, "Patient/%s is not known", "p1").At("Patient.id")
	if got, want := e.Error(), "not-found: Patient.id: Patient/p1 is not known"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if CategoryOf(fmt.Errorf("reading: %w", e)) != Missing {
		t.Error("CategoryOf does not see through wrapping")
	}
	plain := errors.New("disk on fire")
	if CategoryOf(plain) != Fault || From(plain).Category != Fault || !errors.Is(From(plain), plain) {
		t.Error("an error that is not an *Error should be a Fault that unwraps to it")
	}
	for _, c := range []Category{Incorrect, Missing, Conflicting, Unprocessable} {
		if c.Server() {
			t.Errorf("%s blames the server", c)
		}
	}
	for _, c := range []Category{Fault, Unimplemented, Busy} {
		if !c.Server() {
			t.Errorf("%s does not blame the server", c)
		}
	}
}
