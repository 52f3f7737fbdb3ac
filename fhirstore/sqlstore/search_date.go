package sqlstore

import (
	"hpsandbox/fhirstore/search"
	"hpsandbox/fhirstore/searchparam"
)

// shortSpan is the longest date range stored as short (span 0): a day,
// which every dateTime and every full date is. A short row ending after t
// starts after t - shortSpan, which turns "ends after t" into a narrow
// range of the (…, span, low) key instead of every row since t.
const shortSpan int64 = 24 * 3600 * 1000

// dateSpan is the span class of a stored date range.
func dateSpan(low, high int64) int {
	if low != searchparam.MinTime && high != searchparam.MaxTime && high-low <= shortSpan {
		return 0
	}
	return 1
}

// dateRows writes a SELECT of the rids with one date row of param matching
// every value in vs (the AND of repeated parameters, such as a range
// ge…&lt…, is taken on one value, as one date is usually meant).
func (c *compiler) dateRows(types []string, param string, vs []*search.Value) {
	// One SELECT per span class, so that each reads a range of the key.
	for span := 0; span <= 1; span++ {
		x := c.alias("x")
		if span == 1 {
			c.w(" UNION ALL ")
		}
		c.w("SELECT ", x, ".rid FROM ", indexTables[tabDate].name, " ", x, " WHERE ")
		c.indexRows(x, types, param)
		c.w(" AND ", x, ".span = ", itoa(span))
		var bound int64
		bounded := false
		for _, v := range vs {
			c.w(" AND ")
			if b, ok := c.dateRange(x+".low", x+".high", v); ok && (!bounded || b > bound) {
				bound, bounded = b, true
			}
		}
		if span == 0 && bounded {
			c.w(" AND ", x, ".low > ")
			c.arg(bound - shortSpan)
		}
	}
}

// mergeableDate reports a filter that can share one date row with others
// of its parameter: a plain date parameter with one value.
func mergeableDate(f *search.Filter) bool {
	return f.Param != nil && f.Chain == nil && f.Has == nil && f.Param.Type == searchparam.Date &&
		f.Param.Code != "_lastUpdated" && f.Modifier == search.NoModifier && len(f.Values) == 1
}
