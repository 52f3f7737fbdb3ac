package sqlstore

import (
	"slices"
	"testing"
)

// The key of each index table is read from the schema: idx_token's leads
// with sandbox, type, param, code and system, and every key holds the rid.
func TestKeyColumns_FollowTheSchema(t *testing.T) {
	if got, want := indexKeys[tabToken][:5], []int{0, 2, 3, 7, 6}; !slices.Equal(got, want) {
		t.Errorf("idx_token key begins %v, want %v (sandbox, type, param, code, system)", got, want)
	}
	for tab, key := range indexKeys {
		if !slices.Contains(key, ridCol) {
			t.Errorf("%s: key %v has no rid", indexTables[tab].name, key)
		}
	}
	// idx_number's value is outside its key.
	if slices.Contains(indexKeys[tabNumber], numCommonCols) {
		t.Errorf("idx_number key %v holds the value column", indexKeys[tabNumber])
	}
}

// Rows a resource repeats are copied once; the same values of two
// resources are two rows.
func TestDistinctRows_LeavesOutTheRowsAResourceRepeats(t *testing.T) {
	key := indexKeys[tabURI]
	row := func(rid int64, v string) []any { return []any{"sb", rid, "Patient", "url", 0, 0, v} }
	cases := []struct {
		name string
		rows [][]any
		want [][]any
	}{
		{"none", nil, nil},
		{"distinct", [][]any{row(1, "a"), row(1, "b")}, [][]any{row(1, "a"), row(1, "b")}},
		{"repeated", [][]any{row(1, "a"), row(1, "b"), row(1, "a")}, [][]any{row(1, "a"), row(1, "b")}},
		{"two resources", [][]any{row(1, "a"), row(2, "a"), row(2, "a")}, [][]any{row(1, "a"), row(2, "a")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var vals []any
			for _, r := range c.rows {
				vals = append(vals, r...)
			}
			got := distinctRows(vals, len(row(0, "")), key)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if !slices.Equal(got[i], c.want[i]) {
					t.Errorf("row %d: %v, want %v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// Values compare as the engines order a column: NULL, numbers, text.
func TestCompareValues_OrdersAsSQL(t *testing.T) {
	ordered := []any{nil, -1.5, int64(2), 3, "", "a", "b"}
	for i := range ordered {
		for j := range ordered {
			got := compareValues(ordered[i], ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("compareValues(%v, %v) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}
