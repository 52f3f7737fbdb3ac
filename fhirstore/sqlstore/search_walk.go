package sqlstore

import (
	"context"
	"time"

	"hpsandbox/fhirstore/search"
)

// A chain (subject:Patient.family=Hansen) or a _has narrows a search by
// what other resources hold. Its matches can be found from either side:
//
//   - from the reached resources (the patients named Hansen): gather them,
//     then every reference to them through the reference table's value
//     index, then order what refers to them by rid and take a page. This
//     costs what the chain reaches, and suits a selective chain. With no
//     filter but index rows, the page is the reference rows' rids alone
//     (indexPage): no resource row is read but the targets' and the page's.
//   - from the type searched (the Observations): walk its rows in rid
//     order, testing each one's own references (read by rid) against the
//     reached resources, until a page is found. This costs the rows walked
//     before the page is whole: about a page divided by the share of rows
//     that match, whatever the number of resources. Each test is a few
//     seeks: the row's references by rid, the target's key, and the
//     target's own index rows by rid (chainLookup) or, for a filter whose
//     table has no rid index (a token), the target's rid in the filter's
//     rows, gathered once (chainRidProbe).
//
// reachesMany chooses: a chain reaching more than walkTargets resources
// walks (walkPage). A walk that finds no whole page within walkRows rows
// (matches sparser than the reached resources suggest, as when they are
// mostly referred to by other types) gives up, and the search gathers as
// a selective one would: its result is the same either way.

// walked reports a search in rid order of one type that a chain or _has
// narrows and no filter drives (drivingFilter), returning the first such
// filter; nil for another search.
func walked(q *search.Query, cur *cursor) *search.Filter {
	if len(q.Sort) > 0 || len(q.Types) != 1 || q.Offset > 0 || q.Compartment != nil {
		return nil
	}
	if drivingFilter(q) != nil {
		return nil
	}
	for _, f := range q.Filters {
		if f.Chain != nil || f.Has != nil {
			return f
		}
	}
	return nil
}

// walkTargets is how many resources a chain (or _has) must reach for a
// page to be walked (walkPage) first: below it, gathering their
// references costs less than a walk that may find no page.
var walkTargets = 500

// walkRows is how many rows of the type a walk reads before it gives up,
// for a page of count: sixteen windows of the sort order.
var walkRows = func(count int) int { return 16 * sortWindow(count) }

// reachesMany reports whether f (a chain or a _has) of a search of types
// reaches more than walkTargets resources, reading at most one more.
func (t *tx) reachesMany(ctx context.Context, sandbox string, types []string, f *search.Filter, now time.Time) (bool, error) {
	c := &compiler{d: t.s.d, sandbox: sandbox, now: now, confine: search.ConfinementOf(ctx)}
	c.w("SELECT COUNT(*) FROM (")
	switch {
	case f.Has != nil:
		c.hasSources(f.Has)
	case c.confine == nil && indexedFilter(f.Chain.Filter):
		// Index rows are of current resources: counting them reads no
		// resource row.
		for i, target := range f.Chain.Types {
			if i > 0 {
				c.w(" UNION ALL ")
			}
			c.indexedRids([]string{target}, f.Chain.Filter)
		}
	default:
		for i, target := range f.Chain.Types {
			if i > 0 {
				c.w(" UNION ALL ")
			}
			c.chainTargets("rid", target, f)
		}
	}
	c.w(" LIMIT ")
	c.arg(walkTargets + 1)
	c.w(") reached")
	if err := c.tooLarge(); err != nil {
		return false, err
	}
	n, err := t.searchCount(ctx, rebind(t.s.d, c.b.String()), c.args)
	if err != nil {
		return false, t.wrap("search count", err)
	}
	return n > walkTargets, nil
}

// walkPage finds the page of a walked search by reading the type's rows in
// rid order from the cursor, in chunks of growing size (a window of the
// sort order, then twice that …), each one statement that tests every
// filter on the chunk's rows (chunkPage). found is false when walkRows
// rows held no whole page: the caller then gathers the matches instead.
// A chunk that reaches the type's last row ends the walk with the exact
// answer, however few matches it holds.
//
// Going backward the walk reads the rows before the cursor, latest first,
// as the page is read backward.
func (t *tx) walkPage(ctx context.Context, sandbox string, q *search.Query, cur *cursor, now time.Time, confine *search.Confinement) (out []*match, found bool, err error) {
	var from int64
	backward := cur != nil && cur.Backward
	if cur != nil {
		from = cur.RID
	}
	chunk, budget := sortWindow(q.Count), walkRows(q.Count)
	for walked := 0; walked < budget; {
		chunk = max(1, min(chunk, budget-walked))
		to, err := t.chunkEnd(ctx, sandbox, q.Types[0], from, backward, chunk)
		if err != nil {
			return nil, false, err
		}
		c := &compiler{d: t.s.d, sandbox: sandbox, now: now, confine: confine}
		c.chunkPage(q, from, to, backward, q.Count+1-len(out))
		rows, _, err := t.queryMatches(ctx, c, 0)
		if err != nil {
			return nil, false, err
		}
		out = append(out, rows...)
		if len(out) > q.Count || to == 0 {
			return out, true, nil
		}
		from, walked, chunk = to, walked+chunk, 2*chunk
	}
	return nil, false, nil
}

// chunkEnd is the rid of the n-th row of typ after from (before it going
// backward; from 0 is the start): the last row of a chunk of n rows, or 0
// when fewer than n rows remain, so that the chunk runs to the end.
func (t *tx) chunkEnd(ctx context.Context, sandbox, typ string, from int64, backward bool, n int) (int64, error) {
	c := &compiler{d: t.s.d, sandbox: sandbox}
	c.w("SELECT e.rid FROM resource e WHERE e.sandbox = ")
	c.arg(sandbox)
	c.w(" AND e.type = ")
	c.arg(typ)
	switch {
	case backward && from > 0:
		c.w(" AND e.rid < ")
		c.arg(from)
	case !backward:
		c.w(" AND e.rid > ")
		c.arg(from)
	}
	c.w(" ORDER BY e.rid")
	if backward {
		c.w(" DESC")
	}
	c.w(" LIMIT 1 OFFSET ")
	c.arg(n - 1)
	end, err := t.searchCount(ctx, rebind(t.s.d, c.b.String()), c.args)
	if err != nil {
		return 0, t.wrap("search chunk", err)
	}
	return int64(end), nil
}

// chunkPage writes the statement of the first limit matches of a walked
// search among the type's rows after from up to and with to (going
// backward: before from down to and with to; no bound for 0), in rid
// order: the rows drive, every filter tests them, by the row's own index
// rows where its table has a rid index (rowPlan), and a chain or _has
// tests each row's own references (chainProbe, hasProbe). Its cost is the
// chunk's, whatever the chain reaches and however many resources the
// other filters match.
func (c *compiler) chunkPage(q *search.Query, from, to int64, backward bool, limit int) {
	lower, upper := " AND w0.rid > ", " AND w0.rid <= "
	if backward {
		lower, upper = " AND w0.rid < ", " AND w0.rid >= "
	}
	indexOnly := countsByIndex(c, q)
	c.pageColumns("w.rid", nil)
	c.w(" FROM (SELECT w0.rid AS rid FROM resource w0 WHERE w0.sandbox = ")
	c.arg(c.sandbox)
	c.w(" AND w0.type = ")
	c.arg(q.Types[0])
	if from > 0 || !backward {
		c.w(lower)
		c.arg(from)
	}
	if to > 0 {
		c.w(upper)
		c.arg(to)
	}
	c.probeAll, c.correlateChains = true, true
	c.plan = rowPlan(q)
	if indexOnly {
		// Every filter is the row's index rows, which only a current
		// resource has: the rows' rids alone are tested, and no resource
		// row is read but the page's.
		c.w(") w WHERE 1 = 1")
		c.indexedConditions("w", q)
	} else {
		c.w(") w ", c.d.orderedJoin(), " resource r ON r.rid = w.rid WHERE ")
		c.whereFilters(q, nil)
	}
	c.probeAll, c.correlateChains, c.plan = false, false, nil
	c.orderBy(nil, nil, 1, "w.rid", false, backward)
	c.w(" LIMIT ")
	c.arg(limit)
}
