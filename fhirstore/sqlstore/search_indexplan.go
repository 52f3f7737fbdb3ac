package sqlstore

import (
	"context"
	"time"

	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// A search whose filters are all index rows (indexPage, countByIndex)
// reads one filter's rids and tests each against the others. By default
// the first filter drives and each other one is gathered whole, once,
// into a list the driving rids are looked up in. With a chain beside a
// broad filter (Observation?subject:Patient.name=…&code=…&date=ge2021)
// that gathers nearly every Observation's date row to keep a few hundred
// of them, a cost that grows with the store. planIndexed counts, capped,
// the rows of each filter first: the fewest drive, and a filter with many
// more rows than that is tested on each driving rid by its own index rows
// (the index tables' rid indexes) instead of gathered. When every filter
// has more rows than the last cap, each keeps a large share of the type,
// and the search walks the type's rows in rid order instead (walkPage),
// which finds a page after about a page's worth of matches.

// indexPlan is how an indexed search reads its filters (see planIndexed).
type indexPlan struct {
	// driver drives, or, when nil, the date parameter driverDate does.
	driver     *search.Filter
	driverDate string
	// perRow are the filters (and date parameters) tested on each driving
	// rid by its own index rows rather than gathered whole.
	perRow     map[*search.Filter]bool
	perRowDate map[string]bool
}

// tests reports whether p tests f on each row by the row's own index
// rows; a nil plan tests nothing so.
func (p *indexPlan) tests(f *search.Filter) bool { return p != nil && p.perRow[f] }

// testsDate is tests for the values of date parameter code.
func (p *indexPlan) testsDate(code string) bool { return p != nil && p.perRowDate[code] }

// ownRows runs write, which writes one filter's test of the row alias,
// with the filter's subqueries reading that row's own index rows (rowOf)
// or, for a chain, the row's own references (chainProbe), when on.
func (c *compiler) ownRows(alias string, on, chain bool, write func()) {
	if !on {
		write()
		return
	}
	rowOf, correlate := c.rowOf, c.correlateChains
	if chain {
		c.correlateChains = true
	} else {
		c.rowOf = alias
	}
	write()
	c.rowOf, c.correlateChains = rowOf, correlate
}

// planCaps are the caps of planIndexed's counts, in rounds: a round
// counts the filters that reached the last round's cap, and ends the
// counting once one of them stays under its own; those counted after it
// are counted only as far as its rows. Past the last cap the filters are
// broad (broadPlan). At a million resources a walk beats a driver of
// 16,000 rows or more: a page of 50 at that share is a few thousand rows
// walked.
var planCaps = []int{1000, 16000}

// planGroup is one thing planIndexed counts: a filter, or the values of
// one date parameter taken together (splitDates).
type planGroup struct {
	f    *search.Filter
	date string
	rows int
	// full: the count reached its cap; rows is a lower bound.
	full bool
}

// indexedPlan is planIndexed's plan of q, made once for a search's page
// and its count: nil for the default order, and broad when every filter
// reached the last cap (each keeps a large share of the type, so that the
// type's rows in rid order hold a page early, see page, and gathering any
// of them would cost what it matches).
func (t *tx) indexedPlan(ctx context.Context, sandbox string, q *search.Query, now time.Time) (p *indexPlan, broad bool, err error) {
	if t.planned != q {
		p, err := t.planIndexed(ctx, sandbox, q, now)
		if err != nil {
			return nil, false, err
		}
		t.plan, t.planned = p, q
	}
	if t.plan == broadPlan {
		return nil, true, nil
	}
	return t.plan, false, nil
}

// broadPlan is planIndexed's answer for filters that each reached the
// last cap (see indexedPlan).
var broadPlan = &indexPlan{}

// planIndexed chooses how an indexed search (pagedByIndex, countsByIndex)
// with two filters or more reads them: it counts each one's rows up to a
// cap. It returns nil, the default order, for one filter, and broadPlan
// when every count reaches the last cap.
func (t *tx) planIndexed(ctx context.Context, sandbox string, q *search.Query, now time.Time) (*indexPlan, error) {
	merged, dates, rest := splitDates(q.Filters)
	if len(rest)+len(dates) < 2 {
		return nil, nil
	}
	groups := make([]*planGroup, 0, len(rest)+len(dates))
	for _, f := range rest {
		groups = append(groups, &planGroup{f: f, full: true})
	}
	for _, d := range dates {
		groups = append(groups, &planGroup{date: d, full: true})
	}
	var least *planGroup
	for round, limit := range planCaps {
		for _, g := range groups {
			if !g.full || (g.f != nil && sweeping(g.f)) {
				continue
			}
			if least != nil {
				// Only whether it has fewer rows than the least so far
				// matters now: a count as far as that one's will tell.
				limit = min(limit, least.rows)
			}
			c := &compiler{d: t.s.d, sandbox: sandbox, now: now}
			c.w("SELECT COUNT(*) FROM (")
			if g.f != nil {
				c.indexedRids(q.Types, g.f)
			} else {
				c.dateRows(q.Types, g.date, merged[g.date])
			}
			c.w(" LIMIT ")
			c.arg(limit)
			c.w(") counted")
			n, err := t.searchCount(ctx, rebind(t.s.d, c.b.String()), c.args)
			if err != nil {
				return nil, t.wrap("search plan", err)
			}
			g.rows, g.full = n, n >= limit
			if !g.full && (least == nil || n < least.rows) {
				least = g
			}
		}
		if least != nil {
			break
		}
		if round == len(planCaps)-1 {
			return broadPlan, nil
		}
	}
	p := &indexPlan{driver: least.f, driverDate: least.date, perRow: map[*search.Filter]bool{}, perRowDate: map[string]bool{}}
	for _, g := range groups {
		if g == least || !g.full {
			// Another filter with fewer rows than the cap: gathering them
			// costs no more than testing the driving rids one by one.
			continue
		}
		if g.f == nil {
			p.perRowDate[g.date] = true
		} else if perRowFilter(g.f) {
			p.perRow[g.f] = true
		}
	}
	return p, nil
}

// perRowFilter reports a filter that can be tested on one rid by its own
// index rows: its table has an index led by rid (see the schema), or it
// is a chain (chainProbe reads the row's references so).
func perRowFilter(f *search.Filter) bool {
	if f.Chain != nil {
		return true
	}
	if f.Param == nil || f.Param.Type == searchparam.Composite {
		return false
	}
	switch f.Param.Type {
	case searchparam.String, searchparam.Token, searchparam.Reference, searchparam.Date, searchparam.URI,
		searchparam.Number, searchparam.Quantity:
		return f.Modifier != search.Not
	}
	return false
}

// sweeping reports a filter whose matches are found only by reading every
// row of its parameter (a quantity without its unit, a string's :contains):
// counting them would cost that much, however few there are, and testing
// them on a row costs a seek. It is counted as having more rows than any
// cap, so it never drives when another filter can.
func sweeping(f *search.Filter) bool {
	if f.Modifier == search.Contains {
		return true
	}
	if f.Param != nil && f.Param.Type == searchparam.Quantity {
		for _, v := range f.Values {
			if v.Code == "" {
				return true
			}
		}
	}
	return false
}

// perRowFilters reports whether every filter of q can be tested on one
// row by its own index rows: a date, a chain or _has (their probes), or a
// perRowFilter.
func perRowFilters(q *search.Query) bool {
	for _, f := range q.Filters {
		if !mergeableDate(f) && f.Chain == nil && f.Has == nil && !perRowFilter(f) {
			return false
		}
	}
	return true
}

// rowPlan is the plan of a statement whose rows something else bounds (a
// walk's chunk, see chunkPage): every filter that can is tested on each
// row by the row's own index rows, and none is gathered whole for rows
// that are few.
func rowPlan(q *search.Query) *indexPlan {
	p := &indexPlan{perRow: map[*search.Filter]bool{}, perRowDate: map[string]bool{}}
	for _, f := range q.Filters {
		switch {
		case mergeableDate(f):
			p.perRowDate[f.Param.Code] = true
		case f.Chain == nil && f.Has == nil && perRowFilter(f):
			p.perRow[f] = true
		}
	}
	return p
}
