package sqlstore

import (
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// Counting the matches of a search (_summary=count, _total=accurate) reads
// indexes only when it can, never the resources' rows, whose bodies make
// the resource table the largest by far: at 600,000 Observations reading
// each row's method to leave the deleted out took longer than the search
// budget.
//
//   - A type without filters (countType) is its rows in resource_type_rid
//     less its deleted ones, which the partial index resource_deleted holds
//     alone: two counts of index ranges.
//   - Filters that each select rids from an index table (countByIndex)
//     are counted on those rids: a deleted resource has no index rows,
//     and an index row names its sandbox and type, so no resource row is
//     needed to tell a match.
//
// A maintained count per type, updated by every write, would answer the
// first in constant time, but makes one row that every write transaction
// of a type updates, which serializes concurrent writers on engines that
// lock rows (PostgreSQL); an index count costs a few milliseconds per
// hundred thousand resources and nothing at write time.

// countsType reports a count of whole types: no filter, compartment or
// confinement.
func countsType(c *compiler, q *search.Query) bool {
	return len(q.Filters) == 0 && len(q.Types) > 0 && q.Compartment == nil && c.confine == nil
}

// countType writes the statement counting the current resources of types.
func (c *compiler) countType(types []string) {
	c.w("SELECT (SELECT COUNT(*) FROM resource a WHERE a.sandbox = ")
	c.arg(c.sandbox)
	c.w(" AND a.type ")
	c.typeIs(types)
	c.w(") - (SELECT COUNT(*) FROM resource g WHERE g.sandbox = ")
	c.arg(c.sandbox)
	c.w(" AND g.type ")
	c.typeIs(types)
	c.w(" AND g.method = 'DELETE')")
}

// typeIs writes "= ?" or "IN (…)" for types.
func (c *compiler) typeIs(types []string) {
	if len(types) == 1 {
		c.w("= ")
		c.arg(types[0])
		return
	}
	c.w("IN ")
	c.list(types)
}

// countsByIndex reports a search whose every filter selects the rids it
// matches from index tables (indexedFilter), with no compartment or
// confinement to test on the resource rows.
func countsByIndex(c *compiler, q *search.Query) bool {
	if len(q.Filters) == 0 || q.Compartment != nil || c.confine != nil {
		return false
	}
	for _, f := range q.Filters {
		if !indexedFilter(f) {
			return false
		}
	}
	return true
}

// indexedFilter reports a filter whose matches are the rids of index rows:
// a value, chain or :missing=false of a stored parameter. _id and
// _lastUpdated are columns of the resource row; :not, :missing=true and
// _has test what a resource lacks or its id.
func indexedFilter(f *search.Filter) bool {
	switch {
	case f.Has != nil:
		return false
	case f.Chain != nil:
		return true
	case f.Param == nil || f.Param.Code == "_id" || f.Param.Code == "_lastUpdated" || f.Modifier == search.Not:
		return false
	case f.Param.Type == searchparam.Composite:
		return f.Modifier == search.NoModifier
	case tableFor(f.Param.Type) < 0:
		return false
	case f.Modifier == search.Missing:
		return !f.Values[0].Missing
	}
	return true
}

// countByIndex writes the statement counting the matches of a search that
// countsByIndex: the first filter's rids (or the first date parameter's,
// its values taken on one row as whereFilters takes them) drive, the
// others test them. With capped, it counts at most capped+1.
func (c *compiler) countByIndex(q *search.Query, capped int) {
	c.w("SELECT COUNT(*) FROM (SELECT DISTINCT k.rid FROM ")
	merged, dates, rest := c.indexDriver(q)
	c.probe = true
	c.filtersOn("k", q.Types, rest, dates, merged)
	c.probe = false
	if capped > 0 {
		c.w(" LIMIT ")
		c.arg(capped + 1)
	}
	c.w(") counted")
}

// indexedConditions writes " AND" each filter of q (which countsByIndex)
// as a test of the rid of the row alias, dates of one parameter taken on
// one row as whereFilters takes them.
func (c *compiler) indexedConditions(alias string, q *search.Query) {
	merged, dates, rest := splitDates(q.Filters)
	c.filtersOn(alias, q.Types, rest, dates, merged)
}

// filtersOn writes " AND" each of fs and each merged date parameter of
// dates as a test of the rid of the row alias.
//
// Under a plan (c.plan), the filters it names are tested by the row's own
// index rows: their subqueries read the rows of alias's rid (rowOf), and a
// chain the row's own references (chainProbe).
func (c *compiler) filtersOn(alias string, types []string, fs []*search.Filter, dates []string, merged map[string][]*search.Value) {
	for _, f := range fs {
		c.w(" AND ")
		c.ownRows(alias, c.plan.tests(f), f.Chain != nil, func() { c.filter(alias, types, f) })
	}
	for _, code := range dates {
		c.w(" AND ")
		c.ridIn(alias, false)
		c.ownRows(alias, c.plan.testsDate(code), false, func() { c.dateRows(types, code, merged[code]) })
		c.w(")")
	}
}

// indexedRids writes a SELECT of the rids (column rid) that an
// indexedFilter matches.
func (c *compiler) indexedRids(types []string, f *search.Filter) {
	switch {
	case f.Chain != nil:
		c.chain(types, f)
	case f.Modifier == search.Missing:
		x := c.alias("x")
		c.w("SELECT ", x, ".rid FROM ", indexTables[tableFor(f.Param.Type)].name, " ", x, " WHERE ")
		c.indexRows(x, types, f.Param.Code)
	default:
		c.matchingRids(types, f)
	}
}
