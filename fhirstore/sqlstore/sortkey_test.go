package sqlstore

import (
	"math"
	"slices"
	"testing"
)

// Stored as text, the sort keys of numbers and dates order as the numbers
// do: byte order of the text is numeric order, negatives and extremes
// included (sortLast's among them).
func TestSortKeyValue_TextOrderIsNumericOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		vals []any // ascending
	}{
		{"dates", []any{int64(math.MinInt64), int64(-62135596800000), int64(-1), int64(0), int64(1), int64(1700000000000), int64(math.MaxInt64)}},
		{"numbers", []any{-math.MaxFloat64, -1e300, -2.5, -1.0, -1e-300, 0.0, 1e-300, 0.1, 0.3, 1.0, 2.5, 1e300, math.MaxFloat64}},
	} {
		var texts []string
		for _, v := range tc.vals {
			s, ok := sortKeyValue(true, v).(string)
			if !ok || len(s) != 16 {
				t.Fatalf("%s: %v stored as %#v", tc.name, v, sortKeyValue(true, v))
			}
			texts = append(texts, s)
		}
		if !slices.IsSorted(texts) {
			t.Errorf("%s: text keys %v are not in the order of %v", tc.name, texts, tc.vals)
		}
		if sortKeyValue(false, tc.vals[0]) != tc.vals[0] {
			t.Errorf("%s: without TextSortKeys the value changed", tc.name)
		}
	}
	if sortKeyValue(true, "Nordmann") != "Nordmann" {
		t.Error("a string sort key changed")
	}
}
