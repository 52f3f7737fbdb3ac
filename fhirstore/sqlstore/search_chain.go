package sqlstore

import (
	"strings"

	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// idFilter matches _id on the resource row itself.
func (c *compiler) idFilter(alias string, f *search.Filter) {
	switch f.Modifier {
	case search.Missing:
		if f.Values[0].Missing {
			c.w("1 = 0")
		} else {
			c.w("1 = 1")
		}
		return
	case search.Not:
		c.w(alias, ".id NOT IN ")
	default:
		c.w(alias, ".id IN ")
	}
	ids := make([]string, len(f.Values))
	for i, v := range f.Values {
		ids[i] = v.Code
	}
	c.list(ids)
}

// lastUpdated matches _lastUpdated on the resource row, an instant of
// millisecond precision: the range [t, t+1).
func (c *compiler) lastUpdated(alias string, f *search.Filter) {
	if f.Modifier == search.Missing {
		if f.Values[0].Missing {
			c.w("1 = 0")
		} else {
			c.w("1 = 1")
		}
		return
	}
	c.anyOf(len(f.Values), func(i int) {
		_, _ = c.dateRange(alias+".last_updated", alias+".last_updated + 1", &f.Values[i])
	})
}

// chain writes a SELECT of the rids of resources (of types) whose reference
// f.Param points to a resource that matches the chain's filter.
func (c *compiler) chain(types []string, f *search.Filter) {
	for i, target := range f.Chain.Types {
		if i > 0 {
			c.w(" UNION ")
		}
		x := c.alias("x")
		c.w("SELECT ", x, ".rid FROM ", indexTables[tabReference].name, " ", x, " WHERE ")
		c.indexRows(x, types, f.Param.Code)
		c.w(" AND ", x, ".target_type = ")
		c.arg(target)
		c.w(" AND ", x, ".target_id IN (")
		c.chainTargets("id", target, f)
		c.w(")")
	}
}

// chainTargets writes a SELECT of column col (id or rid) of what the chain
// f reaches among resources of type target: the current ones that match
// its filter, kept inside the confinement. Its filter drives; the
// confinement tests what it finds.
func (c *compiler) chainTargets(col, target string, f *search.Filter) {
	if c.confine == nil && indexedFilter(f.Chain.Filter) {
		c.indexedTargets(col, target, f)
		return
	}
	t := c.alias("t")
	c.w("SELECT ", t, ".", col, " FROM resource ", t, " WHERE ")
	c.current(t, []string{target})
	c.w(" AND ")
	probe, correlate := c.probe, c.correlateChains
	c.probe, c.correlateChains = false, false
	c.filter(t, []string{target}, f.Chain.Filter)
	c.probe = true
	c.confined(t, target)
	c.probe, c.correlateChains = probe, correlate
}

// indexedTargets is chainTargets for a chain's filter whose matches are
// index rows (indexedFilter): their rids drive, and each target's row is
// read by its rid, the table's own key. The sandbox and type are tested on
// the row, not sought (concatenated with the empty string, which keeps
// the planner from the type's rid index: a second seek per target, whose
// pages a large store rarely has cached); a deleted resource has no index
// rows.
func (c *compiler) indexedTargets(col, target string, f *search.Filter) {
	t := c.alias("t")
	c.w("SELECT ", t, ".", col, " FROM resource ", t, " WHERE ", t, ".rid IN (")
	probe, correlate := c.probe, c.correlateChains
	c.probe, c.correlateChains = false, false
	c.indexedRids([]string{target}, f.Chain.Filter)
	c.probe, c.correlateChains = probe, correlate
	c.w(") AND ", t, ".sandbox || '' = ")
	c.arg(c.sandbox)
	c.w(" AND ", t, ".type || '' = ")
	c.arg(target)
	c.w(" AND ", t, ".method <> 'DELETE'")
}

// chainProbe writes chain's condition as a test of the row alias: one of
// its own references f.Param (read by rid, from the reference table's rid
// index) points to a resource that matches the chain's filter. The
// targets are gathered once, as a list the test looks up; the row's
// references are one seek. Without the sandbox and type, which rid
// implies, no other index of the reference table can serve it.
func (c *compiler) chainProbe(alias string, types []string, f *search.Filter) {
	if c.confine == nil && lookedUpByRid(f.Chain.Filter) {
		c.chainLookup(alias, types, f)
		return
	}
	if c.confine == nil && indexedFilter(f.Chain.Filter) {
		c.chainRidProbe(alias, types, f)
		return
	}
	c.w("(")
	for i, target := range f.Chain.Types {
		if i > 0 {
			c.w(" OR ")
		}
		x := c.alias("x")
		c.w("EXISTS (SELECT 1 FROM ", indexTables[tabReference].name, " ", x, " WHERE ", x, ".rid = ", alias, ".rid AND (")
		c.paramIs(x, types, f.Param.Code)
		c.w(") AND ", x, ".target_type = ")
		c.arg(target)
		// A membership test of the gathered targets, not a seek for each
		// of them in every row's references (see ridIn for the forms).
		if c.d.orderedJoin() == "JOIN" {
			c.w(" AND NOT ", x, ".target_id NOT IN (")
		} else {
			c.w(" AND +", x, ".target_id IN (")
		}
		c.chainTargets("id", target, f)
		c.w("))")
	}
	c.w(")")
}

// lookedUpByRid reports a chain's filter that a target's own index rows
// answer by the rid index of their table (string, date, reference): a
// value or :missing=false, whose rows exist only for current resources.
func lookedUpByRid(f *search.Filter) bool {
	if !indexedFilter(f) || f.Chain != nil || f.Modifier == search.Missing {
		return false
	}
	switch f.Param.Type {
	case searchparam.String, searchparam.Date, searchparam.Reference:
		return true
	}
	return false
}

// chainLookup writes chain's condition as a test of the row alias that
// gathers nothing: each of its references f.Param (by the reference
// table's rid index) is followed to its target by the resource key, and
// the target's own index rows (by their rid index) tested against the
// chain's filter. Every step is a seek, whatever the chain reaches; the
// target's index rows exist only while it is current.
func (c *compiler) chainLookup(alias string, types []string, f *search.Filter) {
	c.chainThrough(alias, types, f, func(target, t string) {
		rowOf, probe, correlate := c.rowOf, c.probe, c.correlateChains
		c.rowOf, c.probe, c.correlateChains = t, true, false
		c.filter(t, []string{target}, f.Chain.Filter)
		c.rowOf, c.probe, c.correlateChains = rowOf, probe, correlate
	})
}

// chainRidProbe writes chain's condition as a test of the row alias, for a
// chain's filter whose matches are index rows (indexedFilter) that no rid
// index answers (a token's key has the rid after the value): each of the
// row's references f.Param (by the reference table's rid index) is
// followed to its target's rid by the covering resource key, which is
// looked up in the rids of the filter's index rows, gathered once. No
// resource row is read: the gathered list costs the filter's index range
// (a deleted resource has no index rows), not a read of each target.
func (c *compiler) chainRidProbe(alias string, types []string, f *search.Filter) {
	c.chainThrough(alias, types, f, func(target, t string) {
		probe, correlate := c.probe, c.correlateChains
		c.probe, c.correlateChains = true, false
		c.ridIn(t, false)
		c.probe = false
		c.indexedRids([]string{target}, f.Chain.Filter)
		c.w(")")
		c.probe, c.correlateChains = probe, correlate
	})
}

// chainThrough writes, for each type the chain may reach, that some
// reference f.Param of the row alias (by the reference table's rid index)
// names a current resource t of that type (by the resource key) for which
// test writes the chain's condition.
func (c *compiler) chainThrough(alias string, types []string, f *search.Filter, test func(target, t string)) {
	c.w("(")
	for i, target := range f.Chain.Types {
		if i > 0 {
			c.w(" OR ")
		}
		x, t := c.alias("x"), c.alias("t")
		c.w("EXISTS (SELECT 1 FROM ", indexTables[tabReference].name, " ", x, " WHERE ", x, ".rid = ", alias, ".rid AND (")
		c.paramIs(x, types, f.Param.Code)
		c.w(") AND ", x, ".target_type = ")
		c.arg(target)
		c.w(" AND EXISTS (SELECT 1 FROM resource ", t, " WHERE ", t, ".sandbox = ")
		c.arg(c.sandbox)
		c.w(" AND ", t, ".type = ")
		c.arg(target)
		c.w(" AND ", t, ".id = ", x, ".target_id AND ")
		test(target, t)
		c.w("))")
	}
	c.w(")")
}

// has writes the condition that some resource of h.Type matching h.Filter
// refers to the resource row alias through h.Param.
func (c *compiler) has(alias string, types []string, h *search.Has) {
	x := c.alias("x")
	c.w(alias, ".id IN (SELECT ", x, ".target_id FROM ", indexTables[tabReference].name, " ", x, " WHERE ")
	c.indexRows(x, []string{h.Type}, h.Param.Code)
	c.w(" AND ", x, ".target_type = ", alias, ".type AND ", x, ".rid IN (")
	c.hasSources(h)
	c.w("))")
}

// hasSources writes a SELECT of the rids of the resources of h.Type that
// match h.Filter, kept inside the confinement: its filter drives, the
// confinement tests what it finds. Without a confinement, a filter whose
// matches are index rows (indexedFilter) is those rows' rids: a deleted
// resource has none, so no resource row need be read.
func (c *compiler) hasSources(h *search.Has) {
	if c.confine == nil && indexedFilter(h.Filter) {
		probe, correlate := c.probe, c.correlateChains
		c.probe, c.correlateChains = false, false
		c.indexedRids([]string{h.Type}, h.Filter)
		c.probe, c.correlateChains = probe, correlate
		return
	}
	o := c.alias("o")
	c.w("SELECT ", o, ".rid FROM resource ", o, " WHERE ")
	c.current(o, []string{h.Type})
	c.w(" AND ")
	probe, correlate := c.probe, c.correlateChains
	c.probe, c.correlateChains = false, false
	c.filter(o, []string{h.Type}, h.Filter)
	c.probe = true
	c.confined(o, h.Type)
	c.probe, c.correlateChains = probe, correlate
}

// hasProbe writes has's condition as a test of the row alias: one of the
// references to it, read from the reference table's value index by its
// own type and id, comes from a resource that matches h.Filter. Those
// resources are gathered once, as a list the test looks up (see
// chainProbe).
func (c *compiler) hasProbe(alias string, h *search.Has) {
	x := c.alias("x")
	c.w("EXISTS (SELECT 1 FROM ", indexTables[tabReference].name, " ", x, " WHERE ")
	c.indexRows(x, []string{h.Type}, h.Param.Code)
	c.w(" AND ", x, ".target_id = ", alias, ".id AND ", x, ".target_type = ", alias, ".type AND ")
	if c.d.orderedJoin() == "JOIN" {
		c.w("NOT ", x, ".rid NOT IN (")
	} else {
		c.w("+", x, ".rid IN (")
	}
	c.hasSources(h)
	c.w("))")
}

// confined writes " AND" the conditions the confinement puts on the
// resource row alias (of typ): in the compartment when typ is confined to
// it, matching a constraint when typ is constrained, nothing when typ is
// excluded.
func (c *compiler) confined(alias, typ string) {
	if c.confine.Excludes(typ) {
		c.w(" AND 1 = 0")
		return
	}
	if c.confine.Applies(typ) {
		c.w(" AND ")
		c.compartment(alias, typ, &c.confine.Compartment, c.confine.Base)
	}
	if cs, ok := c.confine.ConstraintsOf(typ); ok {
		c.w(" AND ")
		c.constrained(alias, typ, cs)
	}
}

// constrained writes the condition that the resource row alias (of typ)
// meets one of the alternatives cs: all filters of one of them match.
// Its subqueries are probes: the statement is driven by what it confines.
func (c *compiler) constrained(alias, typ string, cs []search.Constraint) {
	if len(cs) == 0 {
		c.w("1 = 0")
		return
	}
	probe := c.probe
	c.probe = true
	c.anyOf(len(cs), func(i int) {
		if len(cs[i]) == 0 {
			c.w("1 = 1")
		}
		for j, f := range cs[i] {
			if j > 0 {
				c.w(" AND ")
			}
			if c.correlate && f.Chain == nil && f.Has == nil {
				// Rows already few (given ids): read their own index rows.
				c.rowOf = alias
			}
			c.filter(alias, []string{typ}, f)
			c.rowOf = ""
		}
	})
	c.probe = probe
}

// confinedRows writes " AND" the condition that the resource rows alias
// (of types, or of any type for none) meet the confinement where it limits
// their type (see confined); types it leaves alone match as they are.
func (c *compiler) confinedRows(alias string, types []string) {
	if c.confine == nil {
		return
	}
	c.limitRows(alias, types,
		func(typ string) { c.compartment(alias, typ, &c.confine.Compartment, c.confine.Base) },
		func(typ string, cs []search.Constraint) { c.constrained(alias, typ, cs) })
}

// limitRows writes " AND" the condition that the rows alias (of types, or
// of any type for none) meet the confinement where it limits their type.
// What a row holds is read as its kind keeps it: inCompartment writes that
// a row of typ lies in the compartment, meets that it meets one of the
// alternatives cs.
func (c *compiler) limitRows(alias string, types []string, inCompartment func(typ string), meets func(typ string, cs []search.Constraint)) {
	all := len(types) == 0
	if all {
		types = searchparam.ResourceTypes()
	}
	c.w(" AND (")
	n := 0
	or := func() {
		if n > 0 {
			c.w(" OR ")
		}
		n++
	}
	comp := &c.confine.Compartment
	var free, limited []string
	for _, typ := range types {
		if !c.confine.Limits(typ) {
			free = append(free, typ)
			continue
		}
		limited = append(limited, typ)
		if c.confine.Excludes(typ) {
			continue // never seen
		}
		inComp := c.confine.Applies(typ)
		if inComp && typ != comp.Type && comp.Type == "Patient" && len(searchparam.PatientCompartment(typ)) == 0 {
			continue // never in the compartment
		}
		cs, constrained := c.confine.ConstraintsOf(typ)
		if constrained && len(cs) == 0 {
			continue // meets no constraint
		}
		or()
		c.w("(", alias, ".type = ")
		c.arg(typ)
		if inComp {
			c.w(" AND ")
			inCompartment(typ)
		}
		if constrained {
			c.w(" AND ")
			meets(typ, cs)
		}
		c.w(")")
	}
	switch {
	case all && len(limited) == 0:
		or()
		c.w("1 = 1")
	case all && len(free) > 0:
		or()
		c.w(alias, ".type NOT IN ")
		c.list(limited)
	case !all && len(free) > 0:
		or()
		c.w(alias, ".type IN ")
		c.list(free)
	}
	if n == 0 {
		c.w("1 = 0")
	}
	c.w(")")
}

// compartment writes the condition that the resource row alias (of typ) is
// in the Patient (or other) compartment: one of the compartment's reference
// parameters of typ points to the compartment's resource, relatively or,
// when base is set, by an absolute URL under base (any URL when it is not).
func (c *compiler) compartment(alias, typ string, comp *search.Compartment, base string) {
	c.inCompartment(alias, typ, comp, base, func(x string) {
		c.ridIn(alias, false)
		c.w("SELECT ", x, ".rid FROM ", indexTables[tabReference].name, " ", x, " WHERE ")
		if c.correlate {
			c.w(x, ".rid = ", alias, ".rid AND ")
		}
		c.w(x, ".sandbox = ")
		c.arg(c.sandbox)
		c.w(" AND ", x, ".type = ")
		c.arg(typ)
	})
}

// inCompartment writes the condition of compartment (and pastCompartment):
// the row is the compartment's resource, or one of the reference rows that
// rows opens (a subquery over the rows x, closed here) points to it.
func (c *compiler) inCompartment(alias, typ string, comp *search.Compartment, base string, rows func(x string)) {
	var params []string
	if comp.Type == "Patient" {
		params = searchparam.PatientCompartment(typ)
	}
	if typ == comp.Type {
		c.w("(", alias, ".id = ")
		c.arg(comp.ID)
		if len(params) == 0 {
			c.w(")")
			return
		}
		c.w(" OR ")
		defer c.w(")")
	}
	if len(params) == 0 {
		c.w("1 = 0")
		return
	}
	x := c.alias("x")
	rows(x)
	c.w(" AND (")
	for i, p := range params {
		if i > 0 {
			c.w(" OR ")
		}
		c.paramIs(x, []string{typ}, p)
	}
	c.w(")")
	c.w(" AND ", x, ".target_type = ")
	c.arg(comp.Type)
	c.w(" AND ", x, ".target_id = ")
	c.arg(comp.ID)
	if base != "" {
		prefix := strings.TrimSuffix(base, "/") + "/"
		c.w(" AND (", x, ".url = '' OR substr(", x, ".url, 1, ")
		c.arg(len(prefix))
		c.w(") = ")
		c.arg(prefix)
		c.w(")")
	}
	c.w(")")
}
