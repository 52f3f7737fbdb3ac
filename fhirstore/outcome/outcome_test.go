package outcome

import "testing"

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
