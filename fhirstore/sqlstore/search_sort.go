package sqlstore

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"hpsandbox/fhirstore/search"
)

// page reads the rows of one page: count+1 after (or, going backward,
// before) the cursor in the sort order; raw counts them before repeats of
// a resource are dropped.
//
// A search sorted by a stored parameter and nothing else to narrow it reads
// the parameter's sort keys in index order (sortedByIndex), so that its
// first page costs what the page holds, whatever the number of resources.
// Every other search finds its matches first and orders them, each sort key
// one lookup by rid: O(m log m) for m matches; but one sorted by a single
// stored parameter whose filters keep more resources than a window of the
// sort order first tries that window (windowPage), whose cost is the
// window's, not the matches'.
func (t *tx) page(ctx context.Context, sandbox string, q *search.Query, cur *cursor, now time.Time) ([]*match, int, error) {
	t.chainWindowed = false
	confine := search.ConfinementOf(ctx)
	// The index order serves whole types only: a confined search filters
	// its matches (see whereFilters).
	if !sortedByIndex(q) || confine != nil {
		if window := sortWindow(q.Count); windowed(q, cur, t.s.d.TextSortKeys) {
			// With more matches than a window of the sort order holds, as
			// when the filters keep most resources, the window may hold the
			// page (see windowPage); with fewer, ordering them costs less.
			many, err := t.moreMatchesThan(ctx, sandbox, q, now, window)
			if err != nil {
				return nil, 0, err
			}
			if many {
				c := &compiler{d: t.s.d, sandbox: sandbox, now: now, confine: confine}
				c.windowPage(q, cur, window)
				rows, raw, err := t.queryMatches(ctx, c, len(q.Sort))
				if err != nil || raw > q.Count {
					return rows, raw, err
				}
			}
		}
		if f := walked(q, cur); f != nil {
			// When the chain (or _has) reaches many resources, the type's
			// rows in rid order hold the page early, each tested by its
			// own references (see walkPage); gathering the references to
			// them all would cost what they are.
			many, err := t.reachesMany(ctx, sandbox, q.Types, f, now)
			if err != nil {
				return nil, 0, err
			}
			if many {
				rows, found, err := t.walkPage(ctx, sandbox, q, cur, now, confine)
				if err != nil || found {
					t.chainWindowed = err == nil
					return rows, len(rows), err
				}
			}
		}
		c := &compiler{d: t.s.d, sandbox: sandbox, now: now, confine: confine}
		if pagedByIndex(c, q) {
			plan, broad, err := t.indexedPlan(ctx, sandbox, q, now)
			if err != nil {
				return nil, 0, err
			}
			if broad && q.Compartment == nil && perRowFilters(q) {
				// Every filter keeps a large share of the type: its rows
				// in rid order hold the page early, each tested by its own
				// index rows, where gathering any filter's matches would
				// cost what they are. A walk that finds no page gathers. A
				// filter that cannot be tested so (a composite) would be
				// gathered for every chunk: such searches gather.
				rows, found, err := t.walkPage(ctx, sandbox, q, cur, now, confine)
				if err != nil || found {
					t.chainWindowed = err == nil
					return rows, len(rows), err
				}
			}
			c.plan = plan
			c.indexPage(q, cur)
		} else {
			c.selectPage(q, cur)
		}
		return t.queryMatches(ctx, c, len(q.Sort))
	}
	// Resources with a value of the first key come first, those without
	// after them (see indexedPage); the cursor's first key is nil among
	// the latter.
	backward := cur != nil && cur.Backward
	inMissing := cur != nil && cur.Keys[0] == nil
	phases := []bool{false, true} // has no value of the first key
	switch {
	case backward && inMissing:
		phases = []bool{true, false}
	case backward:
		phases = []bool{false}
	case inMissing:
		phases = []bool{true}
	}
	var out []*match
	raw := 0
	for i, missing := range phases {
		pc := cur
		if i > 0 {
			// The second phase starts at its end: no cursor, same direction.
			pc = nil
			if backward {
				pc = &cursor{Backward: true, Keys: cur.Keys}
			}
		}
		c := &compiler{d: t.s.d, sandbox: sandbox, now: now, confine: search.ConfinementOf(ctx)}
		c.indexedPage(q, pc, missing, q.Count+1-raw)
		rows, n, err := t.queryMatches(ctx, c, len(q.Sort))
		if err != nil {
			return nil, 0, err
		}
		out, raw = append(out, rows...), raw+n
		if raw > q.Count {
			break
		}
	}
	return out, raw, nil
}

// sortedByIndex reports a search that indexedPage serves: one type, sorted
// first by a stored parameter, with no filter, compartment or offset.
func sortedByIndex(q *search.Query) bool {
	if len(q.Sort) == 0 || len(q.Types) != 1 || len(q.Filters) > 0 || q.Compartment != nil || q.Offset > 0 {
		return false
	}
	k := q.Sort[0]
	return tableFor(k.Param.Type) >= 0 && !isResourceColumn(k.Param.Code) && !isAlias(q.Types[0], k.Param.Code)
}

func isResourceColumn(code string) bool { return code == "_id" || code == "_lastUpdated" }

func isAlias(typ, code string) bool {
	_, ok := aliasesOf(typ)[code]
	return ok
}

// sortWindow is how many rows of the sort order windowPage reads for a page
// of count: enough that filters keeping one resource in 32 fill it.
var sortWindow = func(count int) int { return min(max(32*(count+1), 1000), 20000) }

// moreMatchesThan reports whether q has more than n matches, reading at most
// n+1 of them.
func (t *tx) moreMatchesThan(ctx context.Context, sandbox string, q *search.Query, now time.Time, n int) (bool, error) {
	c := &compiler{d: t.s.d, sandbox: sandbox, now: now, confine: search.ConfinementOf(ctx)}
	c.w("SELECT COUNT(*) FROM (")
	c.fromWhere(q, func() { c.w("SELECT r.rid") })
	c.w(" LIMIT ")
	c.arg(n + 1)
	c.w(") counted")
	if err := c.tooLarge(); err != nil {
		return false, err
	}
	count, err := t.searchCount(ctx, rebind(t.s.d, c.b.String()), c.args)
	if err != nil {
		return false, t.wrap("search count", err)
	}
	return count > n, nil
}

// windowed reports a search sorted by one stored parameter of one type
// that has filters: windowPage may find its page.
// A cursor among the resources without a value (its key the one they sort
// by) is past every window, and going back from it they come first.
func windowed(q *search.Query, cur *cursor, textKeys bool) bool {
	if len(q.Sort) != 1 || len(q.Types) != 1 || q.Offset > 0 {
		return false
	}
	k := q.Sort[0]
	tab := tableFor(k.Param.Type)
	if cur != nil && (cur.Keys[0] == nil || cur.Keys[0] == sortKeyValue(textKeys, sortLast(tab, k.Desc))) {
		return false
	}
	return tab >= 0 && !isResourceColumn(k.Param.Code) && !isAlias(q.Types[0], k.Param.Code)
}

// windowPage writes the statement of a page of a search with filters,
// sorted by one stored parameter, that reads only the first window rows of
// the parameter's sort index after the cursor and tests the filters on
// them. The matches among a prefix of the sort order come first in it, so
// when there are more than a page of them the page is right; with fewer
// the caller orders every match instead. Resources without a value, which
// come after every prefix, are left to that.
func (c *compiler) windowPage(q *search.Query, cur *cursor, window int) {
	first := q.Sort[0]
	backward := cur != nil && cur.Backward
	table, col := sortSource(tableFor(first.Param.Type), first.Desc)
	desc := first.Desc != backward
	keys := []func(){func() { c.w("w.k") }}
	c.pageColumns("w.rid", keys)
	c.w(" FROM (SELECT s.rid AS rid, ", col, " AS k FROM ", table, " s WHERE s.sandbox = ")
	c.arg(c.sandbox)
	c.w(" AND s.type = ")
	c.arg(q.Types[0])
	c.w(" AND s.param = ")
	c.arg(first.Param.Code)
	c.keyRowOnly(table, first.Desc)
	if cur != nil {
		op := " > "
		if desc {
			op = " < "
		}
		c.w(" AND (", col, ", s.rid)", op, "(")
		c.arg(cur.Keys[0])
		c.w(", ")
		c.arg(cur.RID)
		c.w(")")
	}
	dir := ""
	if desc {
		dir = " DESC"
	}
	c.w(" ORDER BY ", col, dir, ", s.rid", dir, " LIMIT ")
	c.arg(window)
	// The window drives; every filter is a test of its rows.
	c.w(") w ", c.d.orderedJoin(), " resource r ON r.rid = w.rid WHERE ")
	c.probeAll = true
	c.whereFilters(q, nil)
	c.probeAll = false
	c.orderBy(q.Sort, keys, 1, "w.rid", first.Desc, backward)
	c.w(" LIMIT ")
	c.arg(q.Count + 1)
}

// indexedPage writes the statement of one phase of a page sorted by index:
// the resources with a value of the first key in the order of idx_sort's
// index of it, or (missing) those without one, in the order of the other
// keys. A page start within a phase is given by cur; limit bounds the rows.
func (c *compiler) indexedPage(q *search.Query, cur *cursor, missing bool, limit int) {
	typ, first := q.Types[0], q.Sort[0]
	backward := cur != nil && cur.Backward
	table, col := sortSource(tableFor(first.Param.Type), first.Desc)
	keys := make([]func(), len(q.Sort))
	for i, k := range q.Sort {
		keys[i] = func() { c.sortKey(k, q.Types) }
	}
	if missing {
		keys[0] = func() { c.w("NULL") }
		c.pageColumns("r.rid", keys)
		c.w(" FROM resource r WHERE ")
		c.current("r", q.Types)
		c.w(" AND NOT EXISTS (SELECT 1 FROM ", table, " s WHERE s.rid = r.rid AND s.param = ")
		c.arg(first.Param.Code)
		c.w(")")
		if cur != nil && len(cur.Keys) > 0 && cur.Keys[0] == nil {
			c.w(" AND ")
			c.keyset(q.Sort[1:], keys[1:], cur.Keys[1:], cur, "r.rid", first.Desc)
		}
		c.orderBy(q.Sort[1:], keys[1:], 2, "r.rid", first.Desc, backward)
	} else {
		keys[0] = func() { c.w(col) }
		c.pageColumns("s.rid", keys)
		// The sort index drives: CROSS JOIN keeps SQLite from reading the
		// resources first.
		c.w(" FROM ", table, " s CROSS JOIN resource r WHERE s.sandbox = ")
		c.arg(c.sandbox)
		c.w(" AND s.type = ")
		c.arg(typ)
		c.w(" AND s.param = ")
		c.arg(first.Param.Code)
		c.keyRowOnly(table, first.Desc)
		c.w(" AND r.rid = s.rid AND r.method <> 'DELETE'")
		if cur != nil && len(cur.Keys) > 0 && cur.Keys[0] != nil {
			// The bound on the first key is what the index seeks to; the
			// keyset after it is exact.
			op := " >= "
			if first.Desc != cur.Backward {
				op = " <= "
			}
			c.w(" AND ", col, op)
			c.arg(cur.Keys[0])
			c.w(" AND ")
			c.keyset(q.Sort, keys, cur.Keys, cur, "s.rid", first.Desc)
		}
		c.orderBy(q.Sort, keys, 1, "s.rid", first.Desc, backward)
	}
	c.w(" LIMIT ")
	c.arg(limit)
}

// selectPage writes the statement of one page of a search that finds its
// matches first: count+1 rows after (or, going backward, before) the cursor
// in the sort order.
func (c *compiler) selectPage(q *search.Query, cur *cursor) {
	keys := make([]func(), len(q.Sort))
	for i, k := range q.Sort {
		keys[i] = func() { c.sortKey(k, q.Types) }
	}
	ridCol := c.fromWhere(q, func() { c.pageColumns("r.rid", keys) })
	ridDesc := len(q.Sort) > 0 && q.Sort[0].Desc
	backward := cur != nil && cur.Backward
	if cur != nil {
		c.w(" AND ")
		c.keyset(q.Sort, keys, cur.Keys, cur, ridCol, ridDesc)
	}
	c.orderBy(q.Sort, keys, 1, ridCol, ridDesc, backward)
	c.w(" LIMIT ")
	c.arg(q.Count + 1)
	if cur == nil && q.Offset > 0 {
		c.w(" OFFSET ")
		c.arg(q.Offset)
	}
}

// pageColumns writes the SELECT of a page's statement: the rid and the
// sort keys, named rid, k1, k2 … (see materialized).
func (c *compiler) pageColumns(rid string, keys []func()) {
	c.w("SELECT ", rid, " AS rid")
	for i, k := range keys {
		c.w(", ")
		k()
		c.w(" AS k", itoa(i+1))
	}
	c.nkeys = len(keys)
}

// orderBy writes the ORDER BY of sort keys and then rid, which goes the way
// of the first key so that an index of (key, rid) serves both directions.
// It also keeps the order by column name (keys from k<first>), for the
// statement that reads the page back (see materialized).
func (c *compiler) orderBy(sort []search.SortKey, keys []func(), first int, ridCol string, ridDesc, backward bool) {
	c.w(" ORDER BY ")
	c.order = c.order[:0]
	for i, k := range sort {
		// By the column's name: written again, a key's lookup would be a
		// second subquery, run again for every match.
		name := "k" + itoa(first+i)
		c.w(name)
		if k.Desc != backward {
			c.w(" DESC")
			name += " DESC"
		}
		c.w(", ")
		c.order = append(c.order, name)
	}
	c.w(ridCol)
	name := "rid"
	if ridDesc != backward {
		c.w(" DESC")
		name += " DESC"
	}
	c.order = append(c.order, name)
}

// sortKey writes the value a resource sorts by: the least of its values
// ascending, the greatest descending, and without one it sorts last. Each
// is one lookup of the resource's row in idx_sort (an alias's: of the rows
// of the parameters it copies).
func (c *compiler) sortKey(k search.SortKey, types []string) {
	switch k.Param.Code {
	case "_id":
		c.w("r.id")
		return
	case "_lastUpdated":
		c.w("r.last_updated")
		return
	}
	tab := tableFor(k.Param.Type)
	agg := "MIN"
	if k.Desc {
		agg = "MAX"
	}
	table, col := sortSource(tab, k.Desc)
	col = strings.TrimPrefix(col, "s.")
	x := c.alias("s")
	for _, typ := range types {
		if a, ok := aliasesOf(typ)[k.Param.Code]; ok && a.TargetType != "" {
			// Only the reference rows know their target's type.
			table, col = indexTables[tabReference].name, "target_id"
		}
	}
	c.w("COALESCE((SELECT ", agg, "(", x, ".", col, ") FROM ", table, " ", x, " WHERE ", x, ".rid = r.rid AND (")
	c.paramIs(x, types, k.Param.Code)
	c.w(")), ")
	c.arg(sortKeyValue(c.d.TextSortKeys, sortLast(tab, k.Desc)))
	c.w(")")
}

// sortSource is the table that holds a resource's sort key of a parameter
// of kind tab, and its column (of alias s) that a sort ascending or
// descending reads. Tokens, references and URIs are read from their own
// tables, which give a type's rows in the order of the value and rid (the
// keys of idx_token and idx_uri, the index idx_reference_sort): idx_sort's
// row with its two indexes would cost every write three B-tree writes per
// parameter. The other kinds are read from idx_sort, whose lo and hi
// indexes hold one row per resource (see sortRows).
func sortSource(tab int, desc bool) (table, col string) {
	switch {
	case tab == tabReference || tab == tabURI || tab == tabToken:
		return indexTables[tab].name, "s." + sortColumn(tab, desc)
	case desc:
		return "idx_sort", "s.hi"
	}
	return "idx_sort", "s.lo"
}

// keyRowOnly keeps, of the rows of s (a resource's values of the sort's
// parameter, read in the order of the value), the one that is the
// resource's key: its least value ascending, its greatest descending, and
// of rows of one value one only. The resource's rows of the parameter are
// found by rid (idx_reference_rid, idx_uri_rid, idx_token_rid); the rest of
// the table's key tells rows of one value apart. idx_sort has one row per resource and
// parameter anyway.
func (c *compiler) keyRowOnly(table string, desc bool) {
	var col, rest string
	switch table {
	case indexTables[tabReference].name:
		col, rest = "target_id", "target_type, grp, comp, version, url, id_system, id_value"
	case indexTables[tabURI].name:
		col, rest = "value", "grp, comp"
	case indexTables[tabToken].name:
		col, rest = "code", "system, grp, comp, text, type_system, type_code"
	default:
		return
	}
	op := " < "
	if desc {
		op = " > "
	}
	of := func(alias string) string {
		return "(" + alias + "." + strings.ReplaceAll(rest, ", ", ", "+alias+".") + ")"
	}
	c.w(" AND NOT EXISTS (SELECT 1 FROM ", table, " sk WHERE sk.rid = s.rid AND sk.param = s.param AND (sk.", col, op,
		"s.", col, " OR (sk.", col, " = s.", col, " AND ", of("sk"), " < ", of("s"), ")))")
}

// sortColumn is the column of an index table that a sort reads.
func sortColumn(tab int, desc bool) string {
	switch tab {
	case tabString:
		return "norm"
	case tabToken:
		return "code"
	case tabReference:
		return "target_id"
	case tabURI:
		return "value"
	}
	if desc {
		return "high"
	}
	return "low"
}

// sortKeyValue is the value of a sort key as idx_sort stores it. SQLite
// keeps numbers and dates as numbers in its untyped columns; an engine
// whose columns have one type (Dialect.TextSortKeys) keeps them as text
// whose byte order is their numeric order: 16 hex digits of the number's
// bits, the sign bit flipped (and for a negative float every bit, since
// its magnitude grows the other way). A parameter's keys are all of one
// kind, so numbers and text never meet in one comparison.
func sortKeyValue(textKeys bool, v any) any {
	if !textKeys {
		return v
	}
	var u uint64
	switch n := v.(type) {
	case int64:
		u = uint64(n) ^ 1<<63
	case float64:
		u = math.Float64bits(n)
		if u&(1<<63) != 0 {
			u = ^u
		} else {
			u ^= 1 << 63
		}
	default:
		return v
	}
	return fmt.Sprintf("%016x", u)
}

// sortLast is the key of a resource without a value: after every value.
func sortLast(tab int, desc bool) any {
	switch tab {
	case tabDate:
		if desc {
			return int64(math.MinInt64)
		}
		return int64(math.MaxInt64)
	case tabNumber, tabQuantity:
		if desc {
			return -math.MaxFloat64
		}
		return math.MaxFloat64
	}
	if desc {
		return ""
	}
	return "\U0010FFFF"
}

// keyset writes "the row comes after the cursor" in the sort order (before
// it when going backward): (k1, …, kn, rid) compared lexicographically,
// with the values vals of the keys and rid ordered as ridDesc says.
func (c *compiler) keyset(sort []search.SortKey, keys []func(), vals []any, cur *cursor, ridCol string, ridDesc bool) {
	c.w("(")
	for i := 0; i <= len(sort); i++ {
		if i > 0 {
			c.w(" OR ")
		}
		c.w("(")
		for j := 0; j < i; j++ {
			keys[j]()
			c.w(" = ")
			c.arg(vals[j])
			c.w(" AND ")
		}
		after := !ridDesc
		if i < len(sort) {
			after = !sort[i].Desc
		}
		if cur.Backward {
			after = !after
		}
		op := " > "
		if !after {
			op = " < "
		}
		if i < len(sort) {
			keys[i]()
			c.w(op)
			c.arg(vals[i])
		} else {
			c.w(ridCol, op)
			c.arg(cur.RID)
		}
		c.w(")")
	}
	c.w(")")
}
