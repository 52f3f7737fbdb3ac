package hl7v2

import (
	"fmt"
	"strconv"
	"time"
)

// TS is an HL7 DTM (point in time): the instant, to which digits it was
// written, and whether it named its zone offset.
type TS struct {
	Time time.Time
	// Digits is how many digits of YYYYMMDDHHMMSS were written: 4 (a
	// year) to 14 (seconds); fractions of a second do not count.
	Digits int
	// Zone is true when the value ended in +ZZZZ or -ZZZZ; without one the
	// instant is read in the location given to ParseTS.
	Zone bool
}

// ParseTS reads a DTM, YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; a
// value without a zone offset is read in loc.
func ParseTS(s string, loc *time.Location) (TS, error) {
	bad := func(why string) (TS, error) { return TS{}, fmt.Errorf("timestamp %q: %s", s, why) }
	var ts TS
	body := s
	offset := 0
	if i := indexAny(s, "+-"); i >= 0 {
		z := s[i+1:]
		if len(z) != 4 || !digitsOnly(z) {
			return bad("the zone offset is not +ZZZZ or -ZZZZ")
		}
		h, _ := strconv.Atoi(z[:2])
		m, _ := strconv.Atoi(z[2:])
		if h > 14 || m > 59 {
			return bad("the zone offset is out of range")
		}
		offset = (h*60 + m) * 60
		if s[i] == '-' {
			offset = -offset
		}
		body, ts.Zone = s[:i], true
	}
	frac := ""
	if i := indexAny(body, "."); i >= 0 {
		body, frac = body[:i], body[i+1:]
		if len(frac) < 1 || len(frac) > 4 || !digitsOnly(frac) || len(body) != 14 {
			return bad("fractions of a second need all 14 digits before them and 1 to 4 after")
		}
	}
	switch len(body) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return bad("want YYYY[MM[DD[HH[MM[SS]]]]] and an optional zone offset")
	}
	if !digitsOnly(body) {
		return bad("want digits")
	}
	n := func(from, to int, def int) int {
		if len(body) < to {
			return def
		}
		v, _ := strconv.Atoi(body[from:to])
		return v
	}
	year, month, day := n(0, 4, 0), n(4, 6, 1), n(6, 8, 1)
	hour, minute, sec := n(8, 10, 0), n(10, 12, 0), n(12, 14, 0)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return bad("a part is out of range")
	}
	nsec := 0
	if frac != "" {
		f, _ := strconv.Atoi(frac)
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		nsec = f
	}
	if ts.Zone {
		loc = time.FixedZone("", offset)
	} else if loc == nil {
		loc = time.UTC
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day {
		return bad("no such day")
	}
	ts.Time, ts.Digits = t, len(body)
	return ts, nil
}

func indexAny(s, chars string) int {
	for i := range len(s) {
		for j := range len(chars) {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

func digitsOnly(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
