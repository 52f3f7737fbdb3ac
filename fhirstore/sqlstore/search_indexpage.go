package sqlstore

import (
	"slices"

	"hpsandbox/fhirstore/search"
)

// A search in rid order whose every filter selects the rids it matches
// from index tables (countsByIndex: values, chains, :missing=false) finds
// its page among those rids alone: an index row exists only for a current
// resource of its sandbox and type, so the statement reads no resource row
// to tell a match, and the page's resources are read by rid afterwards
// (see materialized). The usual statement instead seeks each candidate's
// resource row through the type's rid index to test what the index row
// already says, twice the pages for every match read, most of them cold in
// a large store.

// pageByIndex turns indexPage on; tests compare its pages with the usual
// statement's.
var pageByIndex = true

// pagedByIndex reports a search indexPage serves: one type in rid order,
// no offset, and no filter that drives alone (drivingFilter reads its
// index in rid order already).
func pagedByIndex(c *compiler, q *search.Query) bool {
	return pageByIndex && len(q.Sort) == 0 && len(q.Types) == 1 && q.Offset == 0 && drivingFilter(q) == nil && countsByIndex(c, q)
}

// indexPage writes the statement of a page that pagedByIndex: the first
// filter's rids (or the first date parameter's, its values taken on one
// row as whereFilters takes them) drive, the others test them, and the
// first count+1 distinct rids after (going backward, before) the cursor
// are the page.
func (c *compiler) indexPage(q *search.Query, cur *cursor) {
	c.w("SELECT DISTINCT k.rid AS rid FROM ")
	merged, dates, rest := c.indexDriver(q)
	c.nkeys = 0
	backward := cur != nil && cur.Backward
	if cur != nil {
		op := " > "
		if backward {
			op = " < "
		}
		c.w(" AND k.rid", op)
		c.arg(cur.RID)
	}
	c.probe = true
	c.filtersOn("k", q.Types, rest, dates, merged)
	c.probe = false
	c.orderBy(nil, nil, 1, "k.rid", false, backward)
	c.w(" LIMIT ")
	c.arg(q.Count + 1)
}

// indexDriver writes the index rows that drive a search whose filters are
// all index rows, as "(…) k WHERE 1 = 1": the first filter's rids, or the
// first date parameter's with its values taken on one row as whereFilters
// takes them. It returns the filters left for k's rids to be tested by.
func (c *compiler) indexDriver(q *search.Query) (merged map[string][]*search.Value, dates []string, rest []*search.Filter) {
	merged, dates, rest = splitDates(q.Filters)
	c.w("(")
	if p := c.plan; p != nil {
		// The plan's driver, and the others in their order.
		if p.driver != nil {
			c.indexedRids(q.Types, p.driver)
			rest = slices.DeleteFunc(slices.Clone(rest), func(f *search.Filter) bool { return f == p.driver })
		} else {
			c.dateRows(q.Types, p.driverDate, merged[p.driverDate])
			dates = slices.DeleteFunc(slices.Clone(dates), func(d string) bool { return d == p.driverDate })
		}
		c.w(") k WHERE 1 = 1")
		return merged, dates, rest
	}
	if len(rest) > 0 {
		c.indexedRids(q.Types, rest[0])
		rest = rest[1:]
	} else {
		c.dateRows(q.Types, dates[0], merged[dates[0]])
		dates = dates[1:]
	}
	c.w(") k WHERE 1 = 1")
	return merged, dates, rest
}

// splitDates splits filters into the values of each mergeable date
// parameter (mergeableDate), taken together on one row, the codes of those
// parameters in their first filter's order, and the other filters.
func splitDates(filters []*search.Filter) (merged map[string][]*search.Value, dates []string, rest []*search.Filter) {
	merged = map[string][]*search.Value{}
	for _, f := range filters {
		if mergeableDate(f) {
			if _, ok := merged[f.Param.Code]; !ok {
				dates = append(dates, f.Param.Code)
			}
			merged[f.Param.Code] = append(merged[f.Param.Code], &f.Values[0])
			continue
		}
		rest = append(rest, f)
	}
	return merged, dates, rest
}
