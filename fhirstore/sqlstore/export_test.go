package sqlstore

import (
	"context"
	"slices"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/search"
)

// PageSQL returns the statement (and its arguments) of the first page of
// q, as Search runs it, for tests of query plans.
func PageSQL(d Dialect, sandbox string, q *search.Query) (string, []any) {
	c := &compiler{d: d, sandbox: sandbox, now: time.Now()}
	switch {
	case sortedByIndex(q):
		c.indexedPage(q, nil, false, q.Count+1)
	case pagedByIndex(c, q):
		c.indexPage(q, nil)
	default:
		c.selectPage(q, nil)
	}
	return rebind(d, c.b.String()), c.args
}

// SetChainWindowTargets makes a chained (or _has) search walk the type
// when its chain reaches more than n resources, until the returned
// function restores it.
func SetChainWindowTargets(n int) (restore func()) {
	old := walkTargets
	walkTargets = n
	return func() { walkTargets = old }
}

// SetWalkRows makes a walk give up after n rows, until the returned
// function restores it.
func SetWalkRows(n int) (restore func()) {
	old := walkRows
	walkRows = func(int) int { return n }
	return func() { walkRows = old }
}

// ChainWindowSQL returns the statement of the first page of q among the
// type's rows up to rid n (chunkPage), for tests of query plans.
func ChainWindowSQL(d Dialect, sandbox string, q *search.Query, n int) (string, []any) {
	c := &compiler{d: d, sandbox: sandbox, now: time.Now()}
	c.chunkPage(q, 0, int64(n), false, q.Count+1)
	return rebind(d, c.b.String()), c.args
}

// RunAsSearch runs statement, whose one column is rid, as Search runs a
// page: within the budget, materialized in the given order (of columns of
// statement), read row by row.
func (s *Store) RunAsSearch(ctx context.Context, statement string, order ...string) error {
	t := &tx{s: s, q: s.read}
	return t.withinBudget(ctx, func(ctx context.Context) error {
		c := &compiler{order: order}
		c.w(statement)
		_, _, err := t.queryMatches(ctx, c, 0)
		return err
	})
}

// SetSortWindow makes windowPage read n rows of the sort order, until the
// returned function restores it.
func SetSortWindow(n int) (restore func()) {
	old := sortWindow
	sortWindow = func(int) int { return n }
	return func() { sortWindow = old }
}

// CountSQL returns the statement counting the matches of q accurately, as
// total runs it, for tests of query plans.
func CountSQL(d Dialect, sandbox string, q *search.Query) (string, []any) {
	c := &compiler{d: d, sandbox: sandbox, now: time.Now()}
	switch {
	case countsType(c, q):
		c.countType(q.Types)
	case countsByIndex(c, q):
		c.countByIndex(q, 0)
	default:
		c.w("SELECT COUNT(*) FROM (")
		c.fromWhere(q, func() { c.w("SELECT DISTINCT r.rid") })
		c.w(") counted")
	}
	return rebind(d, c.b.String()), c.args
}

// WriteStatementsPrepared reports how many search statements write
// transactions have prepared (see txStmt).
func WriteStatementsPrepared(s *Store) int64 {
	if s.wstmts == nil {
		return -1
	}
	return s.wstmts.prepared.Load()
}

// LookupStatementsPrepared reports how many confinement checks of reads by
// id the lookup pool has prepared (-1 when it is the read pool).
func LookupStatementsPrepared(s *Store) int64 {
	if s.lstmts == nil {
		return -1
	}
	return s.lstmts.prepared.Load()
}

// SetPageByIndex turns the pages read from index rows alone (indexPage)
// on or off, until the returned function restores it.
func SetPageByIndex(on bool) (restore func()) {
	old := pageByIndex
	pageByIndex = on
	return func() { pageByIndex = old }
}

// CommitGroup runs fns as the writes of one group transaction, in order,
// and returns the error each was answered with. The group's time budget
// is lifted, so that a slow machine does not split the group.
func (s *Store) CommitGroup(ctx context.Context, fns []func(fhirstore.Tx) error) []error {
	defer func(b time.Duration) { s.gc.budget = b }(s.gc.budget)
	s.gc.budget = time.Hour
	batch := make([]*writeJob, len(fns))
	for i, fn := range fns {
		batch[i] = &writeJob{ctx: ctx, done: make(chan error, 1),
			run: func(_ context.Context, t *tx) error { return fn(groupTx{t}) }}
	}
	for rest := batch; len(rest) > 0; {
		rest = s.commitGroup(rest, nil)
	}
	errs := make([]error, len(batch))
	for i, j := range batch {
		errs[i] = <-j.done
	}
	return errs
}

// HoldExtractions takes every slot of the goroutines that extract index
// rows beside the writer, as a store whose processors are all busy
// extracting, until the returned function gives them back.
func (s *Store) HoldExtractions() (release func()) {
	n := cap(s.extracting)
	for range n {
		s.extracting <- struct{}{}
	}
	return func() {
		for range n {
			<-s.extracting
		}
	}
}

// SetPlanCaps makes indexed searches count their filters' rows with these
// caps (see planCaps) until the returned function restores them.
func SetPlanCaps(caps ...int) (restore func()) {
	old := planCaps
	planCaps = caps
	return func() { planCaps = old }
}

// PlannedPageSQL returns the statement of the first page of q, which
// pagedByIndex, under the plan driven by the filter of parameter driver
// (or its date values) with the filters of the parameters perRow tested on
// each driving rid, for tests of query plans.
func PlannedPageSQL(d Dialect, sandbox string, q *search.Query, driver string, perRow ...string) (string, []any) {
	p := &indexPlan{perRow: map[*search.Filter]bool{}, perRowDate: map[string]bool{}}
	_, dates, rest := splitDates(q.Filters)
	for _, f := range rest {
		switch {
		case f.Param.Code == driver:
			p.driver = f
		case slices.Contains(perRow, f.Param.Code):
			p.perRow[f] = true
		}
	}
	for _, code := range dates {
		switch {
		case code == driver:
			p.driverDate = code
		case slices.Contains(perRow, code):
			p.perRowDate[code] = true
		}
	}
	c := &compiler{d: d, sandbox: sandbox, now: time.Now(), plan: p}
	c.indexPage(q, nil)
	return rebind(d, c.b.String()), c.args
}
