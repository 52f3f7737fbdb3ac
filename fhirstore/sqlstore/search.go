package sqlstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// Count caps of a total that was not asked for accurately: counting more
// matches than this costs more than a page, so the total is left out.
const (
	defaultTotalCap  = 1000
	estimateTotalCap = 10000
)

// errBudget ends the context of a search that ran out of its time budget.
var errBudget = errors.New("the search's time budget is spent")

// Search implements fhirstore.Reader within the store's time budget of a
// search: at the budget, the statement running is interrupted and the
// search fails as outcome.Busy (503 at the HTTP edge).
func (t *tx) Search(ctx context.Context, sandbox fhirstore.Sandbox, sq fhirstore.SearchQuery) (page *fhirstore.SearchPage, err error) {
	err = t.withinBudget(ctx, func(ctx context.Context) error {
		page, err = t.search(ctx, string(sandbox), sq)
		return err
	})
	return page, err
}

// withinBudget runs fn with a context that ends at the search budget, and
// turns the error of a search stopped there into an outcome.Busy error.
func (t *tx) withinBudget(ctx context.Context, fn func(context.Context) error) error {
	budget := t.s.searchTimeout
	if budget <= 0 {
		return fn(ctx)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, budget, errBudget)
	defer cancel()
	err := fn(ctx)
	if err != nil && errors.Is(context.Cause(ctx), errBudget) {
		return outcome.New(outcome.Busy, outcome.Timeout,
			"the search took longer than the server's time budget of %v and was stopped: "+
				"narrow it with more selective parameters, or sort, count (_total) or include less", budget).Wrap(err)
	}
	return err
}

// search is one statement for the page of matches, one to count them when
// the total is wanted, and one per round of includes.
func (t *tx) search(ctx context.Context, sandbox string, sq fhirstore.SearchQuery) (*fhirstore.SearchPage, error) {
	q := sq.Query
	if q == nil {
		q = &search.Query{Types: []string{sq.Type}, Count: sq.Count, Offset: sq.Offset, Total: search.TotalAccurate}
	}
	cur, err := decodeCursor(q.Cursor, len(q.Sort))
	if err != nil {
		return nil, err
	}
	now := t.s.now()
	page := &fhirstore.SearchPage{Total: -1}
	var rows []*match
	raw := 0
	if q.Count > 0 {
		if rows, raw, err = t.page(ctx, sandbox, q, cur, now); err != nil {
			return nil, err
		}
	}
	// raw counts rows before dropping repeats of a resource (see
	// queryMatches): a full page of rows means there may be more.
	more := raw > q.Count
	if len(rows) > q.Count {
		rows = rows[:q.Count]
	}
	backward := cur != nil && cur.Backward
	if backward {
		slices.Reverse(rows)
	}
	for _, m := range rows {
		page.Matches = append(page.Matches, m.res)
	}
	// A page a walk found leaves the default total out: counting would
	// gather every resource the chain reaches, which the walk spared (see
	// walkPage); _total=accurate or estimate counts.
	if t.chainWindowed && q.Total == search.TotalDefault {
		page.Total = -1
	} else if page.Total, err = t.total(ctx, sandbox, q, cur, now, len(rows), more); err != nil {
		return nil, err
	}
	if len(rows) > 0 {
		first, last := rows[0], rows[len(rows)-1]
		if (!backward && more) || backward {
			page.Next = encodeCursor(last.keys, last.rid, false, page.Total)
		}
		if (backward && more) || (!backward && (cur != nil || q.Offset > 0)) {
			page.Prev = encodeCursor(first.keys, first.rid, true, page.Total)
		}
	}
	if len(q.Include)+len(q.RevInclude) > 0 && len(rows) > 0 {
		if page.Included, err = t.include(ctx, sandbox, q, rows); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// match is a row of the page: the resource, its rid and sort key values.
type match struct {
	rid  int64
	res  *fhirstore.Resource
	keys []any
}

// where writes the conditions of q on the resource row r.
func (c *compiler) where(q *search.Query) {
	c.whereFilters(q, nil)
}

// whereFilters writes the conditions of q on the resource row r, but for
// skip, a filter the statement applies otherwise (see drivingFilter).
func (c *compiler) whereFilters(q *search.Query, skip *search.Filter) {
	c.current("r", q.Types)
	c.probe = skip != nil || c.probeAll
	merged := map[string][]*search.Value{}
	var order []string
	for _, f := range q.Filters {
		if f == skip {
			continue
		}
		if mergeableDate(f) {
			if _, ok := merged[f.Param.Code]; !ok {
				order = append(order, f.Param.Code)
			}
			merged[f.Param.Code] = append(merged[f.Param.Code], &f.Values[0])
			continue
		}
		c.w(" AND ")
		c.ownRows("r", c.plan.tests(f), f.Chain != nil, func() { c.filter("r", q.Types, f) })
		c.probe = true
	}
	for _, code := range order {
		c.w(" AND ")
		c.ridIn("r", false)
		c.ownRows("r", c.plan.testsDate(code), false, func() { c.dateRows(q.Types, code, merged[code]) })
		c.w(")")
		c.probe = true
	}
	c.probe = c.probeAll
	if q.Compartment != nil {
		for i, typ := range q.Types {
			if i == 0 {
				c.w(" AND (")
			} else {
				c.w(" OR ")
			}
			c.w("(r.type = ")
			c.arg(typ)
			c.w(" AND ")
			c.compartment("r", typ, q.Compartment, "")
			c.w(")")
		}
		if len(q.Types) > 0 {
			c.w(")")
		}
	}
	if c.confine != nil && (q.Compartment == nil || *q.Compartment != c.confine.Compartment || len(c.confine.Excluded) > 0 || len(c.confine.Constraints) > 0 || c.confine.Base != "") {
		// A type search confined to a compartment is a compartment search:
		// the compartment may drive the statement, as q.Compartment's does.
		// A search of given ids tests each row's compartment instead, which
		// costs what the ids are, not what the compartment holds.
		c.probe = c.probeAll || q.Compartment != nil || len(q.Types) != 1 || !c.confine.Applies(q.Types[0])
		c.correlate = byID(q)
		c.confinedRows("r", q.Types)
		c.probe, c.correlate = false, false
	}
}

// byID reports whether q's matches are bounded by a short list of ids,
// few enough that looking up each one's index rows costs less than
// gathering a compartment's or a constraint's.
func byID(q *search.Query) bool {
	for _, f := range q.Filters {
		if f.Param != nil && f.Param.Code == "_id" && f.Modifier == search.NoModifier && len(f.Values) <= 32 {
			return true
		}
	}
	return false
}

// fromWhere writes the SELECT (by cols), FROM and WHERE of the matches of q
// and returns the column that orders them by rid.
func (c *compiler) fromWhere(q *search.Query, cols func()) string {
	d := drivingFilter(q)
	if d == nil {
		cols()
		c.w(" FROM resource r WHERE ")
		c.where(q)
		return "r.rid"
	}
	// Read the driving filter's index in rid order and stop after a page,
	// however many resources match.
	cols()
	c.w(" FROM ", indexTables[tableFor(d.Param.Type)].name, " d CROSS JOIN resource r WHERE ")
	c.indexRows("d", q.Types, d.Param.Code)
	c.w(" AND ")
	c.value("d", d.Param.Type, d.Modifier, &d.Values[0])
	c.w(" AND r.rid = d.rid AND ")
	c.whereFilters(q, d)
	return "d.rid"
}

// drivingFilter is a filter that can drive a page by itself: one value
// that fixes the whole index key before rid (system|code, Type/id), so its
// index yields matches in rid order. Sorted searches order otherwise.
func drivingFilter(q *search.Query) *search.Filter {
	if len(q.Sort) > 0 || len(q.Types) != 1 {
		return nil
	}
	for _, f := range q.Filters {
		if f.Param == nil || f.Chain != nil || f.Has != nil || len(f.Values) != 1 || strings.HasPrefix(f.Param.Code, "_id") {
			continue
		}
		v := &f.Values[0]
		switch f.Param.Type {
		case searchparam.Token:
			if f.Modifier == search.NoModifier && v.HasSystem && v.Code != "" {
				return f
			}
		case searchparam.Reference:
			if (f.Modifier == search.NoModifier || f.Modifier == search.TypeModifier) && v.RefType != "" && v.RefID != "" && v.RefURL == "" {
				return f
			}
		}
	}
	return nil
}

// materialized is the statement of a page (c's, of rids and sort keys)
// computed whole before its first row is returned, then read back in its
// order with the resources' rows. SQLite interrupts a statement when its
// context ends only while the driver waits for that first row; a page of
// sparse matches would otherwise go on scanning for the next one past its
// time budget. Other statements (includes, counts) sort or aggregate, which
// is done before the first row anyway, and run as they are.
func materialized(c *compiler) string {
	if len(c.order) == 0 {
		return c.b.String()
	}
	var b strings.Builder
	b.WriteString("WITH page AS MATERIALIZED (")
	b.WriteString(c.b.String())
	b.WriteString(") SELECT r.rid, r.type, r.id, r.version, r.last_updated, r.method, r.body")
	for i := 1; i <= c.nkeys; i++ {
		b.WriteString(", page.k" + itoa(i))
	}
	b.WriteString(" FROM page " + c.d.orderedJoin() + " resource r ON r.rid = page.rid ORDER BY page.")
	b.WriteString(strings.Join(c.order, ", page."))
	return b.String()
}

// queryMatches runs a statement of matches; raw is the number of rows,
// which may hold a resource twice in a row when two of its index rows
// match the driving filter.
func (t *tx) queryMatches(ctx context.Context, c *compiler, nkeys int) (out []*match, raw int, err error) {
	if err := c.tooLarge(); err != nil {
		return nil, 0, err
	}
	rows, release, err := t.searchQuery(ctx, rebind(t.s.d, materialized(c)), c.args)
	if err != nil {
		return nil, 0, t.wrap("search", err)
	}
	defer release()
	defer rows.Close()
	for rows.Next() {
		raw++
		m := &match{res: &fhirstore.Resource{}, keys: make([]any, nkeys)}
		var method string
		var ms int64
		dest := []any{&m.rid, &m.res.Type, &m.res.ID, &m.res.Version, &ms, &method, &m.res.Body}
		for i := range m.keys {
			dest = append(dest, &m.keys[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, t.wrap("search scan", err)
		}
		if len(out) > 0 && out[len(out)-1].rid == m.rid {
			continue // a resource with two rows matching the driving filter
		}
		m.res.LastUpdated = time.UnixMilli(ms).UTC()
		m.res.Method = fhirstore.Method(method)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, t.wrap("search rows", err)
	}
	return out, raw, nil
}

// total counts the matches as q.Total asks; -1 when it is not counted.
func (t *tx) total(ctx context.Context, sandbox string, q *search.Query, cur *cursor, now time.Time, n int, more bool) (int, error) {
	if cur != nil && q.Total != search.TotalAccurate {
		return cur.Total, nil
	}
	if q.Total == search.TotalNone {
		return -1, nil
	}
	if cur == nil && !more && (n > 0 || q.Offset == 0) && q.Count > 0 {
		return q.Offset + n, nil
	}
	capped := 0
	switch q.Total {
	case search.TotalDefault:
		capped = defaultTotalCap
	case search.TotalEstimate:
		capped = estimateTotalCap
	}
	c := &compiler{d: t.s.d, sandbox: sandbox, now: now, confine: search.ConfinementOf(ctx)}
	switch {
	case capped == 0 && countsType(c, q):
		c.countType(q.Types)
	case countsByIndex(c, q):
		var err error
		if c.plan, _, err = t.indexedPlan(ctx, sandbox, q, now); err != nil {
			return 0, err
		}
		c.countByIndex(q, capped)
	default:
		c.w("SELECT COUNT(*) FROM (")
		c.fromWhere(q, func() { c.w("SELECT DISTINCT r.rid") })
		if capped > 0 {
			c.w(" LIMIT ")
			c.arg(capped + 1)
		}
		c.w(") counted")
	}
	if err := c.tooLarge(); err != nil {
		return 0, err
	}
	total, err := t.searchCount(ctx, rebind(t.s.d, c.b.String()), c.args)
	if err != nil {
		return 0, t.wrap("search count", err)
	}
	if capped > 0 && total > capped {
		return -1, nil
	}
	return total, nil
}
