// Package union splits FHIRPath expressions at their top-level union
// operators. The search-parameter generator and the extractor both need it,
// and the generator cannot import the package it generates.
package union

import "strings"

// Split splits expr at the '|' operators outside brackets and quotes,
// trimming each part and dropping an empty last one.
func Split(expr string) []string {
	var parts []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(expr); i++ {
		switch ch := expr[i]; {
		case ch == '\'':
			inQuote = !inQuote
		case inQuote:
		case ch == '(' || ch == '[':
			depth++
		case ch == ')' || ch == ']':
			depth--
		case ch == '|' && depth == 0:
			parts = append(parts, strings.TrimSpace(expr[start:i]))
			start = i + 1
		}
	}
	if last := strings.TrimSpace(expr[start:]); last != "" {
		parts = append(parts, last)
	}
	return parts
}
