package sqlstore

import (
	"math"
	"strings"
	"time"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// compiler builds one SQL statement from a search.Query: text with "?"
// placeholders and their arguments, in order. The statement reads the
// resource table (current rows only) and the index tables by rid; the
// sandbox constrains every table it reads.
type compiler struct {
	b strings.Builder
	// d is the engine's dialect; the zero Dialect writes SQLite's SQL.
	d       Dialect
	args    []any
	sandbox string
	now     time.Time
	aliases int
	// probe makes the next rid IN (…) conditions membership tests rather
	// than index lookups: SQLite would otherwise drive the outer scan from
	// every IN list at once, a nested loop over the product of the lists.
	// The first filter of a WHERE drives; the others probe.
	probe bool
	// confine, when set, keeps the resources of its types that the search
	// reads (matches, chain targets, _has sources) inside its compartment.
	confine *search.Confinement
	// probeAll makes every rid IN (…) condition a probe: the statement
	// is driven by something else (see windowPage).
	probeAll bool
	// correlate makes compartment conditions look up the row's own
	// references (by rid) rather than gather the compartment's: for rows
	// already few, as those of given ids.
	correlate bool
	// correlateChains makes chain and _has filters tests of the row's own
	// references (see chainProbe, hasProbe) rather than gather every
	// resource the chain reaches: for rows that something else drives, few
	// of them (see chunkPage).
	correlateChains bool
	// rowOf, when set, is the alias of the one row whose index rows a
	// filter's subqueries read (see constrained).
	rowOf string
	// plan, when set, is which filter of an indexed search drives and
	// which the others test one driving rid at a time (see planIndexed).
	plan *indexPlan
	// order is the ORDER BY of a page's statement by column name, and nkeys
	// the number of its sort keys (see pageColumns and orderBy).
	order []string
	nkeys int
}

// ridIn writes "alias.rid [NOT] IN (", as a probe when c.probe is set.
//
// SQLite seeks no index for "+rid". PostgreSQL turns an IN (…) of the
// WHERE's AND-list into a semi-join, and with a hundred of them its
// planner searches the orders of a hundred-way join for a minute; an IN
// under a NOT stays a membership test of a hashed subquery, so there a
// probe is written as the negation of NOT IN (NULL never makes the two
// differ: rid is never NULL).
func (c *compiler) ridIn(alias string, not bool) {
	if c.probe && c.d.orderedJoin() == "JOIN" {
		c.w("NOT ")
		not = !not
	} else if c.probe {
		c.w("+")
	}
	c.w(alias, ".rid ")
	if not {
		c.w("NOT ")
	}
	c.w("IN (")
}

// maxArgs is the most SQL parameters a statement may have: SQLite's
// limit (SQLITE_MAX_VARIABLE_NUMBER), the least of the engines'.
const maxArgs = 32766

// tooLarge refuses a statement with more parameters than the engine takes,
// which the limits of package search leave possible only for a system
// search over a long _type list.
func (c *compiler) tooLarge() error {
	if len(c.args) <= maxArgs {
		return nil
	}
	return outcome.New(outcome.Incorrect, outcome.TooCostly,
		"the search needs %d SQL parameters; the store takes at most %d (maxArgs): use fewer values, parameters or _type", len(c.args), maxArgs)
}

func (c *compiler) w(parts ...string) {
	for _, p := range parts {
		c.b.WriteString(p)
	}
}

// arg writes a placeholder for v.
func (c *compiler) arg(v any) {
	c.b.WriteByte('?')
	c.args = append(c.args, v)
}

// anyOf writes the disjunction of n terms as a balanced tree: SQLite
// bounds the depth of an expression (1,000), which a chain of a thousand
// ORs would reach, while the tree's depth is log2 n.
func (c *compiler) anyOf(n int, term func(i int)) {
	c.tree(0, n, " OR ", term)
}

// unionOf writes the UNION of n SELECTs of one column, rid, as a balanced
// tree of compound SELECTs: SQLite bounds the terms of one compound (500).
func (c *compiler) unionOf(n int, term func(i int)) {
	const terms = 64
	if n <= terms {
		for i := 0; i < n; i++ {
			if i > 0 {
				c.w(" UNION ")
			}
			term(i)
		}
		return
	}
	half := n / 2
	c.w("SELECT rid FROM (")
	c.unionOf(half, term)
	c.w(") lo UNION SELECT rid FROM (")
	c.unionOf(n-half, func(i int) { term(half + i) })
	c.w(") hi")
}

func (c *compiler) tree(from, to int, op string, term func(i int)) {
	if to-from == 1 {
		c.w("(")
		term(from)
		c.w(")")
		return
	}
	mid := from + (to-from)/2
	c.w("(")
	c.tree(from, mid, op, term)
	c.w(op)
	c.tree(mid, to, op, term)
	c.w(")")
}

// list writes "(?, ?, …)" for vs.
func (c *compiler) list(vs []string) {
	c.w("(")
	for i, v := range vs {
		if i > 0 {
			c.w(", ")
		}
		c.arg(v)
	}
	c.w(")")
}

func (c *compiler) alias(prefix string) string {
	c.aliases++
	return prefix + itoa(c.aliases)
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// current writes the conditions that keep alias's rows current resources
// of types in the sandbox (every type when types is empty).
func (c *compiler) current(alias string, types []string) {
	c.w(alias, ".sandbox = ")
	c.arg(c.sandbox)
	switch len(types) {
	case 0:
	case 1:
		c.w(" AND ", alias, ".type = ")
		c.arg(types[0])
	default:
		c.w(" AND ", alias, ".type IN ")
		c.list(types)
	}
	c.w(" AND ", alias, ".method <> 'DELETE'")
}

// tableFor is the index table of a parameter type.
func tableFor(t searchparam.Type) int {
	switch t {
	case searchparam.String:
		return tabString
	case searchparam.Token:
		return tabToken
	case searchparam.Reference:
		return tabReference
	case searchparam.Date:
		return tabDate
	case searchparam.Number:
		return tabNumber
	case searchparam.Quantity:
		return tabQuantity
	case searchparam.URI:
		return tabURI
	}
	return -1
}

// filter writes the condition that a resource row alias (of one of types)
// matches f.
func (c *compiler) filter(alias string, types []string, f *search.Filter) {
	switch {
	case f.Has != nil && c.correlateChains:
		c.hasProbe(alias, f.Has)
		return
	case f.Has != nil:
		c.has(alias, types, f.Has)
		return
	case f.Chain != nil && c.correlateChains:
		c.chainProbe(alias, types, f)
		return
	case f.Chain != nil:
		c.ridIn(alias, false)
		c.chain(types, f)
		c.w(")")
		return
	}
	switch f.Param.Code {
	case "_id":
		c.idFilter(alias, f)
		return
	case "_lastUpdated":
		c.lastUpdated(alias, f)
		return
	}
	switch f.Modifier {
	case search.Missing:
		c.ridIn(alias, f.Values[0].Missing)
		x := c.alias("x")
		c.w("SELECT ", x, ".rid FROM ", indexTables[tableFor(f.Param.Type)].name, " ", x, " WHERE ")
		c.indexRows(x, types, f.Param.Code)
		c.w(")")
		return
	case search.Not:
		c.ridIn(alias, true)
	default:
		c.ridIn(alias, false)
	}
	c.matchingRids(types, f)
	c.w(")")
}

// indexRows writes the conditions selecting the rows of one parameter.
func (c *compiler) indexRows(x string, types []string, param string) {
	if c.rowOf != "" {
		c.w(x, ".rid = ", c.rowOf, ".rid AND ")
	}
	c.w(x, ".sandbox = ")
	c.arg(c.sandbox)
	if len(types) == 1 {
		c.w(" AND ", x, ".type = ")
		c.arg(types[0])
	} else if len(types) > 1 {
		c.w(" AND ", x, ".type IN ")
		c.list(types)
	}
	c.w(" AND (")
	c.paramIs(x, types, param)
	c.w(")")
}

// matchingRids writes a SELECT of the rids with a row matching any value of
// f (its modifier :not aside, which the caller applies).
func (c *compiler) matchingRids(types []string, f *search.Filter) {
	if f.Param.Type == searchparam.Composite {
		c.unionOf(len(f.Values), func(i int) { c.composite(types, f, &f.Values[i]) })
		return
	}
	if f.Param.Type == searchparam.Date && len(f.Values) == 1 {
		c.dateRows(types, f.Param.Code, []*search.Value{&f.Values[0]})
		return
	}
	if (f.Param.Type == searchparam.Number || f.Param.Type == searchparam.Quantity) && f.Modifier == search.NoModifier {
		c.numberRids(types, f)
		return
	}
	// Each list of values, and the rest together, is a SELECT of its own:
	// SQLite reads an index for one IN list, but not for a disjunction of
	// two.
	lists, rest := valueGroups(f)
	n := len(lists)
	if len(rest) > 0 {
		n++
	}
	c.unionOf(n, func(i int) {
		x := c.alias("x")
		c.w("SELECT ", x, ".rid FROM ", indexTables[tableFor(f.Param.Type)].name, " ", x, " WHERE ")
		c.indexRows(x, types, f.Param.Code)
		c.w(" AND ")
		if i < len(lists) {
			c.inList(x, lists[i])
			return
		}
		c.anyOf(len(rest), func(j int) { c.value(x, f.Param.Type, f.Modifier, rest[j]) })
	})
}

// composite writes a SELECT of the rids with one group of rows matching
// every component of v (see search_composite.go for aliases).
func (c *compiler) composite(types []string, f *search.Filter, v *search.Value) {
	c.compositeOf(types, f.Param, f.Param.Code, v)
}

// value writes the condition that index row x matches v.
func (c *compiler) value(x string, t searchparam.Type, mod search.Modifier, v *search.Value) {
	switch t {
	case searchparam.String:
		switch mod {
		case search.Exact:
			c.w(x, ".norm = ")
			c.arg(searchparam.Normalize(v.Str))
			c.w(" AND ", x, ".exact = ")
			c.arg(v.Str)
		case search.Contains:
			c.w(x, ".norm LIKE ")
			c.arg("%" + escapeLike(v.Str) + "%")
			c.w(` ESCAPE '\'`)
		default:
			c.prefix(x+".norm", v.Str)
		}
	case searchparam.Token:
		c.token(x, mod, v)
	case searchparam.Reference:
		c.reference(x, mod, v)
	case searchparam.Date:
		c.dateRange(x+".low", x+".high", v)
	case searchparam.Number, searchparam.Quantity:
		c.number(x, v)
		if t == searchparam.Quantity {
			c.unit(x, v)
		}
	case searchparam.URI:
		switch mod {
		case search.Below:
			c.prefix(x+".value", v.Str)
		case search.Above:
			c.w("substr(")
			c.arg(v.Str)
			c.w(", 1, length(", x, ".value)) = ", x, ".value")
		default:
			c.w(x, ".value = ")
			c.arg(v.Str)
		}
	default:
		c.w("1 = 0")
	}
}

// prefix writes "col starts with s" as a range the index serves: every
// string that starts with s sorts between s and s followed by the highest
// code point.
func (c *compiler) prefix(col, s string) {
	c.w(col, " >= ")
	c.arg(s)
	c.w(" AND ", col, " < ")
	c.arg(s + "\U0010FFFF")
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (c *compiler) token(x string, mod search.Modifier, v *search.Value) {
	switch mod {
	case search.Text:
		c.w(x, ".text LIKE ")
		c.arg(escapeLike(v.Str) + "%")
		c.w(` ESCAPE '\' OR `, x, ".text LIKE ")
		c.arg("% " + escapeLike(v.Str) + "%")
		c.w(` ESCAPE '\'`)
		return
	case search.OfType:
		c.w(x, ".type_system = ")
		c.arg(v.TypeSystem)
		c.w(" AND ", x, ".type_code = ")
		c.arg(v.TypeCode)
		c.w(" AND ", x, ".code = ")
		c.arg(v.Code)
		return
	}
	switch {
	case v.Code == "":
		c.w(x, ".system = ")
		c.arg(v.System)
	case v.HasSystem:
		c.w(x, ".code = ")
		c.arg(v.Code)
		c.w(" AND ", x, ".system = ")
		c.arg(v.System)
	default:
		c.w(x, ".code = ")
		c.arg(v.Code)
	}
}

func (c *compiler) reference(x string, mod search.Modifier, v *search.Value) {
	switch {
	case mod == search.Identifier:
		c.w(x, ".id_value = ")
		c.arg(v.Code)
		if v.HasSystem {
			c.w(" AND ", x, ".id_system = ")
			c.arg(v.System)
		}
	case v.RefURL != "":
		c.w(x, ".url = ")
		c.arg(v.RefURL)
		if v.RefVersion != "" {
			c.w(" AND ", x, ".version = ")
			c.arg(v.RefVersion)
		}
	default:
		c.w(x, ".target_id = ")
		c.arg(v.RefID)
		if v.RefType != "" {
			c.w(" AND ", x, ".target_type = ")
			c.arg(v.RefType)
		}
	}
}

// dateRange writes the prefix's comparison of the row range [low, high)
// with the value's range [v.Low, v.High). A prefix compares the part of
// the row's range that lies beyond the value: ge matches a row with any
// instant at or after the value's start, so 2013-01-14 is ge
// 2013-01-14T10:00.
func (c *compiler) dateRange(low, high string, v *search.Value) (bound int64, bounded bool) {
	sl, sh := v.Low, v.High
	switch v.Prefix {
	case search.EQ, search.NE:
		if v.Prefix == search.NE {
			c.w("NOT ")
		}
		// low <= high <= sh: the bound on low makes the index range end
		// at the value's.
		c.w("(", low, " >= ")
		c.arg(sl)
		c.w(" AND ", low, " <= ")
		c.arg(sh)
		c.w(" AND ", high, " <= ")
		c.arg(sh)
		c.w(")")
	case search.GT:
		c.w(high, " > ")
		c.arg(sh)
		return sh, true
	case search.LT:
		c.w(low, " < ")
		c.arg(sl)
	case search.GE:
		c.w(high, " > ")
		c.arg(sl)
		return sl, true
	case search.LE:
		c.w(low, " < ")
		c.arg(sh)
	case search.SA:
		c.w(low, " >= ")
		c.arg(sh)
	case search.EB:
		c.w(low, " <= ")
		c.arg(sl)
		c.w(" AND ", high, " <= ")
		c.arg(sl)
	case search.AP:
		// Approximately: the value widened by a tenth of its distance from
		// now on each side, and at least a day.
		now := c.now.UnixMilli()
		widen := func(t int64) int64 { return max(int64(math.Abs(float64(now-t))/10), 24*3600*1000) }
		c.w(low, " < ")
		c.arg(sh + widen(sh))
		c.w(" AND ", high, " > ")
		c.arg(sl - widen(sl))
		return sl - widen(sl), true
	}
	return 0, false
}

// number writes the prefix's comparison of the row's value (or Range
// [low, high]) with the search value, whose written precision makes the
// range of eq: 100 matches [99.5, 100.5).
func (c *compiler) number(x string, v *search.Value) {
	lo, hi := x+".low", x+".high"
	switch v.Prefix {
	case search.EQ, search.NE:
		// low <= high < v.NumHigh: the bound on low makes the index range
		// end at the value's.
		if v.Prefix == search.NE {
			c.w("NOT ")
		}
		c.w("(", lo, " >= ")
		c.arg(v.NumLow)
		c.w(" AND ", lo, " < ")
		c.arg(v.NumHigh)
		c.w(" AND ", hi, " < ")
		c.arg(v.NumHigh)
		c.w(")")
	case search.GT:
		c.w(hi, " > ")
		c.arg(v.Number)
	case search.LT:
		c.w(lo, " < ")
		c.arg(v.Number)
	case search.GE:
		c.w(hi, " >= ")
		c.arg(v.Number)
	case search.LE:
		c.w(lo, " <= ")
		c.arg(v.Number)
	case search.SA:
		c.w(lo, " > ")
		c.arg(v.Number)
	case search.EB:
		c.w(lo, " < ")
		c.arg(v.Number)
		c.w(" AND ", hi, " < ")
		c.arg(v.Number)
	case search.AP:
		d := math.Abs(v.Number) / 10
		c.w(lo, " <= ")
		c.arg(v.Number + d)
		c.w(" AND ", hi, " >= ")
		c.arg(v.Number - d)
	}
}
