package profile

import (
	"strings"
	"time"
)

// periodOrdered is invariant per-1 of Period: start is not after end. Two
// dateTimes of different precision are compared on what they share, and
// equal there, the order is unknown and the invariant does not hold (as
// FHIRPath has it, and HL7's validator reports it).
func periodOrdered(v *jvalue) bool {
	start, end := v.get("start"), v.get("end")
	if start == nil || end == nil || start.kind != kString || end.kind != kString {
		return true
	}
	a, b := start.str, end.str
	if len(a) > 10 && len(b) > 10 {
		ta, err1 := time.Parse(time.RFC3339Nano, a)
		tb, err2 := time.Parse(time.RFC3339Nano, b)
		if err1 == nil && err2 == nil {
			return !ta.After(tb)
		}
	}
	n := min(len(a), len(b), 10)
	if c := strings.Compare(a[:n], b[:n]); c != 0 {
		return c < 0
	}
	return len(a) == len(b) && a <= b
}
