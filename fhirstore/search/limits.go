package search

import (
	"slices"

	"hpsandbox/fhirstore/outcome"
)

// Limits of one search. A real client stays far below them; beyond them a
// search costs more than any answer is worth (and would run into the SQL
// engine's own limits), so it is refused as incorrect, naming the limit.
// Repeats of the same parameter, value, sort key or include are dropped
// before counting.
const (
	// MaxParameters bounds the search parameters (filters) of a search, a
	// parameter repeated counting once per occurrence.
	MaxParameters = 200
	// MaxValues bounds the values of all parameters together: each
	// alternative of a comma-separated list counts.
	MaxValues = 1000
	// MaxSortKeys bounds the keys of _sort.
	MaxSortKeys = 5
	// MaxIncludes bounds the _include and _revinclude of a search together.
	MaxIncludes = 20
	// MaxIncludeDepth bounds the rounds of _include:iterate and
	// _revinclude:iterate: an iteration stops after this many, included or
	// not.
	MaxIncludeDepth = 4
)

// tooCostly is the error of a search beyond one of the limits.
func tooCostly(param, format string, args ...any) *outcome.Error {
	return outcome.New(outcome.Incorrect, outcome.TooCostly, format, args...).At(param)
}

// checkLimits refuses q when it goes beyond a limit.
func checkLimits(q *Query) error {
	if n := len(q.Filters); n > MaxParameters {
		return tooCostly(q.Filters[MaxParameters].Name,
			"the search has %d parameters; a search may have at most %d (MaxParameters)", n, MaxParameters)
	}
	values := 0
	for _, f := range q.Filters {
		values += countValues(f)
		if values > MaxValues {
			return tooCostly(f.Name,
				"the search has more than %d values in all; a search may have at most %d (MaxValues), counting each of a comma-separated list", MaxValues, MaxValues)
		}
	}
	if n := len(q.Sort); n > MaxSortKeys {
		return tooCostly("_sort", "_sort has %d keys; a search may sort by at most %d (MaxSortKeys)", n, MaxSortKeys)
	}
	if n := len(q.Include) + len(q.RevInclude); n > MaxIncludes {
		return tooCostly("_include", "the search has %d _include and _revinclude; it may have at most %d (MaxIncludes)", n, MaxIncludes)
	}
	return nil
}

// countValues counts the values of f and of the filters it nests.
func countValues(f *Filter) int {
	switch {
	case f.Chain != nil:
		return countValues(f.Chain.Filter)
	case f.Has != nil:
		return countValues(f.Has.Filter)
	}
	return len(f.Values)
}

// dedupe drops repeated values of one parameter occurrence (a,b,a), later
// sort keys of a parameter already sorted by, and repeated includes.
func dedupe(q *Query) {
	for _, f := range q.Filters {
		dedupeValues(f)
	}
	var seen []string
	q.Sort = slices.DeleteFunc(q.Sort, func(k SortKey) bool {
		if slices.Contains(seen, k.Param.Code) {
			return true
		}
		seen = append(seen, k.Param.Code)
		return false
	})
	q.Include = dedupeIncludes(q.Include)
	q.RevInclude = dedupeIncludes(q.RevInclude)
}

func dedupeValues(f *Filter) {
	switch {
	case f.Chain != nil:
		dedupeValues(f.Chain.Filter)
		return
	case f.Has != nil:
		dedupeValues(f.Has.Filter)
		return
	}
	if len(f.Values) < 2 {
		return
	}
	seen := make(map[string]bool, len(f.Values))
	f.Values = slices.DeleteFunc(f.Values, func(v Value) bool {
		if seen[v.Raw] {
			return true
		}
		seen[v.Raw] = true
		return false
	})
}

// dedupeIncludes keeps the first of equal includes; an include without
// :iterate goes when the same one iterates, which finds all it finds.
func dedupeIncludes(incs []Include) []Include {
	var out []Include
	for _, inc := range incs {
		iterating := inc
		iterating.Iterate = true
		if slices.Contains(out, inc) || slices.Contains(out, iterating) {
			continue
		}
		if inc.Iterate {
			plain := inc
			plain.Iterate = false
			out = slices.DeleteFunc(out, func(o Include) bool { return o == plain })
		}
		out = append(out, inc)
	}
	return out
}
