package sqlstore

import (
	"time"

	"hpsandbox/fhirstore/search"
)

// PageSQL returns the statement (and its arguments) of the first page of
// q, as Search runs it, for tests of query plans.
func PageSQL(d Dialect, sandbox string, q *search.Query) (string, []any) {
	c := &compiler{sandbox: sandbox, now: time.Now()}
	if sortedByIndex(q) {
		c.indexedPage(q, nil, false, q.Count+1)
	} else {
		c.selectPage(q, nil)
	}
	return rebind(d, c.b.String()), c.args
}
