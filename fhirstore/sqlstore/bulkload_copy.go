package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"regexp"
	"slices"
	"strings"
)

// Where the engine streams rows into a table (Dialect.CopyFrom: PostgreSQL's
// COPY), a bulk load writes the index rows of each flush so, one stream per
// table, instead of by multi-row INSERTs of at most 16 rows, each a round
// trip to the server that parses and plans it. COPY has no ON CONFLICT: the
// rows a resource repeats (one value reached by two paths), which the
// INSERTs skip, are left out first (distinctRows). Rows of different
// resources never collide, as every key ends in the resource's rid, whose
// earlier rows an update deleted before.

// copyFunc streams rows, each holding a value for every one of cols, into
// table within the transaction.
type copyFunc func(ctx context.Context, table string, cols []string, rows [][]any) error

// copier is the copyFunc of the transaction open on conn.
func copier(conn *sql.Conn, copyFrom func(context.Context, any, string, []string, [][]any) error) copyFunc {
	return func(ctx context.Context, table string, cols []string, rows [][]any) error {
		return conn.Raw(func(dc any) error { return copyFrom(ctx, dc, table, cols, rows) })
	}
}

// copyIndex copies the index rows t holds (those of its pending writes,
// appended by flushIndex) into their tables. A failure sticks, as
// flushIndex's: the transaction cannot commit.
func (t *tx) copyIndex(ctx context.Context) error {
	for tab, it := range indexTables {
		width := numCommonCols + len(it.cols)
		if rows := distinctRows(t.rows[tab], width, indexKeys[tab]); len(rows) > 0 {
			cols := append([]string{"sandbox", "rid", "type", "param", "grp", "comp"}, it.cols...)
			if err := t.copy(ctx, it.name, cols, rows); err != nil {
				t.flushErr = t.wrap("index "+it.name, err)
				return t.flushErr
			}
		}
		clear(t.rows[tab])
		t.rows[tab] = t.rows[tab][:0]
	}
	return nil
}

// distinctRows cuts vals, rows of width values laid out as appendIndexRows
// does, into rows, leaving out any whose key (the columns key) an earlier
// row of the same resource has. The rows of a resource are next to each
// other, and few.
func distinctRows(vals []any, width int, key []int) [][]any {
	out := make([][]any, 0, len(vals)/width)
	first := 0 // the first row in out of the resource being cut
	for i := 0; i+width <= len(vals); i += width {
		row := vals[i : i+width : i+width]
		if first < len(out) && compareValues(out[first][ridCol], row[ridCol]) != 0 {
			first = len(out)
		}
		if !slices.ContainsFunc(out[first:], func(o []any) bool { return sameKey(o, row, key) }) {
			out = append(out, row)
		}
	}
	return out
}

// ridCol is the position of rid among the common columns.
const ridCol = 1

// sameKey says whether rows a and b have equal values in the columns key.
func sameKey(a, b []any, key []int) bool {
	for _, c := range key {
		if compareValues(a[c], b[c]) != 0 {
			return false
		}
	}
	return true
}

// indexKeys are, per index table, the positions of its key's columns in
// the table's rows (the common columns, then the table's own): taken from
// the schema (keyColumns).
var indexKeys = keyColumns()

// primaryKeyRE finds the key of a CREATE TABLE.
var primaryKeyRE = regexp.MustCompile(`(?s)^CREATE TABLE (\w+) \(.*PRIMARY KEY \(([^)]*)\)`)

// keyColumns reads the key of each index table from the migrations (the
// last CREATE TABLE of the table's name) and gives the positions of its
// columns in the table's rows, as appendIndexRows lays them out.
func keyColumns() [numIndexTables][]int {
	keys := map[string]string{}
	for _, m := range migrations {
		for _, stmt := range m {
			if g := primaryKeyRE.FindStringSubmatch(strings.TrimSpace(stmt)); g != nil {
				keys[g[1]] = g[2]
			}
		}
	}
	var out [numIndexTables][]int
	for tab, it := range indexTables {
		cols := append([]string{"sandbox", "rid", "type", "param", "grp", "comp"}, it.cols...)
		for _, name := range strings.Split(keys[it.name], ",") {
			if i := slices.Index(cols, strings.TrimSpace(name)); i >= 0 {
				out[tab] = append(out[tab], i)
			}
		}
	}
	return out
}

// compareValues orders two column values as SQL engines order them within
// a column: NULL first, numbers by value, text by its bytes, then blobs.
func compareValues(a, b any) int {
	ca, fa, sa := classify(a)
	cb, fb, sb := classify(b)
	if ca != cb {
		return cmp.Compare(ca, cb)
	}
	switch ca {
	case 1:
		return cmp.Compare(fa, fb)
	case 2, 3:
		return strings.Compare(sa, sb)
	}
	return 0
}

// classify gives v's class (0 NULL, 1 number, 2 text, 3 blob) and its value
// as a number or as text.
func classify(v any) (class int, f float64, s string) {
	switch v := v.(type) {
	case nil:
		return 0, 0, ""
	case int:
		return 1, float64(v), ""
	case int64:
		return 1, float64(v), ""
	case float64:
		return 1, v, ""
	case bool:
		if v {
			return 1, 1, ""
		}
		return 1, 0, ""
	case string:
		return 2, 0, v
	case []byte:
		return 3, 0, string(v)
	}
	return 0, 0, ""
}

// bulkAnalyze is the refresh of statistics inside a bulk load's
// transaction (see tx.analyze), or "" for none: once, after its first
// versions, of the resource table alone. It is for the look-ups by id of
// an id the load repeats, which statistics showing the table holds more
// than a few rows send through the unique key however many rows follow;
// the index tables it copies into are read by no write, and the analyzer
// refreshes every table after the commit. Analyzing every table, 5 times
// per 20,000 resources, had taken most of a bulk load's time.
func (t *tx) bulkAnalyze(analyze string) string {
	if t.written > analyzeAfter {
		return ""
	}
	return analyze + " resource"
}
