package union

import (
	"slices"
	"testing"
)

func TestSplit_OnlyTopLevelBars(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Patient.name | Practitioner.name", []string{"Patient.name", "Practitioner.name"}},
		{"(Observation.value as Quantity) | (Observation.value as SampledData)", []string{"(Observation.value as Quantity)", "(Observation.value as SampledData)"}},
		{"Observation.code.where(text = 'a|b') | Condition.code", []string{"Observation.code.where(text = 'a|b')", "Condition.code"}},
		{"A.b.where(c | d) ", []string{"A.b.where(c | d)"}},
		{"", nil},
	}
	for _, tt := range tests {
		if got := Split(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Split(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
