package searchparam

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

type reference struct {
	typ, id, version, url string
}

// parseReference reads a Reference.reference or canonical value. It reports
// false for references to contained resources ("#id") and empty values.
func parseReference(ref string) (reference, bool) {
	var r reference
	if ref == "" || ref[0] == '#' {
		return r, false
	}
	if strings.Contains(ref, ":") {
		// Absolute URL, urn:uuid:, urn:oid: or canonical "url|version".
		if url, version, ok := strings.Cut(ref, "|"); ok {
			r.url, r.version = url, version
			return r, true
		}
		r.url = ref
		if _, rest, ok := strings.Cut(ref, "://"); ok {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				r.typ, r.id, r.version, _ = splitTypeID(rest[i+1:], true)
			}
		}
		return r, true
	}
	var ok bool
	if r.typ, r.id, r.version, ok = splitTypeID(ref, false); !ok {
		return r, false
	}
	return r, true
}

// splitTypeID reads "Type/id" or "Type/id/_history/v" at the end of a path;
// anywhere says whether the path may have segments before the type.
func splitTypeID(path string, anywhere bool) (typ, id, version string, ok bool) {
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	if n := len(segs); n >= 4 && segs[n-2] == "_history" {
		version = segs[n-1]
		segs = segs[:n-2]
	}
	n := len(segs)
	if n < 2 || (!anywhere && n != 2) || segs[n-1] == "" || !isIdent(segs[n-2]) || !isUpper(segs[n-2][0]) {
		return "", "", "", false
	}
	return segs[n-2], segs[n-1], version, true
}

// referenceType is the resource type a Reference points to, from its
// reference or else its type element; `where(resolve() is T)` tests this.
func referenceType(m map[string]any) string {
	if ref, ok := m["reference"].(string); ok {
		if r, ok := parseReference(ref); ok && r.typ != "" {
			return r.typ
		}
	}
	t, _ := m["type"].(string)
	return t
}

// DateRange reads a FHIR date, dateTime or instant into the half-open
// range of UTC milliseconds its precision covers. A dateTime without a time
// zone is taken as UTC.
func DateRange(s string) (low, high int64, ok bool) {
	num := func(from, n int) (int, bool) {
		if from+n > len(s) {
			return 0, false
		}
		v := 0
		for i := from; i < from+n; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			v = v*10 + int(s[i]-'0')
		}
		return v, true
	}
	year, ok := num(0, 4)
	if !ok {
		return 0, 0, false
	}
	month, day, hour, minute, sec := 1, 1, 0, 0, 0
	var nanos, unit time.Duration
	step := func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	i := 4
	if len(s) > i {
		if s[i] != '-' {
			return 0, 0, false
		}
		if month, ok = num(i+1, 2); !ok || month < 1 || month > 12 {
			return 0, 0, false
		}
		step = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
		i += 3
	}
	if len(s) > i {
		if s[i] != '-' {
			return 0, 0, false
		}
		if day, ok = num(i+1, 2); !ok || day < 1 || day > 31 {
			return 0, 0, false
		}
		step = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
		i += 3
	}
	loc := time.UTC
	if len(s) > i {
		if s[i] != 'T' {
			return 0, 0, false
		}
		h, ok1 := num(i+1, 2)
		m, ok2 := num(i+4, 2)
		if !ok1 || !ok2 || s[i+3] != ':' || h > 23 || m > 59 {
			return 0, 0, false
		}
		hour, minute, unit, i = h, m, time.Minute, i+6
		if len(s) > i && s[i] == ':' {
			if sec, ok = num(i+1, 2); !ok || sec > 60 {
				return 0, 0, false
			}
			unit, i = time.Second, i+3
			if len(s) > i && s[i] == '.' {
				j := i + 1
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					if j-i <= 9 {
						nanos = nanos*10 + time.Duration(s[j]-'0')
						unit /= 10
					}
					j++
				}
				if j == i+1 {
					return 0, 0, false
				}
				for k := j - i - 1; k < 9; k++ {
					nanos *= 10
				}
				i = j
			}
		}
		if unit < time.Millisecond {
			unit = time.Millisecond
		}
		if len(s) > i {
			switch {
			case s[i] == 'Z' && len(s) == i+1:
			case (s[i] == '+' || s[i] == '-') && len(s) == i+6 && s[i+3] == ':':
				oh, ok1 := num(i+1, 2)
				om, ok2 := num(i+4, 2)
				if !ok1 || !ok2 {
					return 0, 0, false
				}
				off := oh*3600 + om*60
				if s[i] == '-' {
					off = -off
				}
				loc = time.FixedZone("", off)
			default:
				return 0, 0, false
			}
		}
		u := unit
		step = func(t time.Time) time.Time { return t.Add(u) }
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, int(nanos), loc)
	if t.Day() != day {
		return 0, 0, false // 2024-02-30
	}
	return t.UnixMilli(), step(t).UnixMilli(), true
}

// DecimalRange is the range a decimal's written precision implies: half a
// unit of its last digit either side. 100 is [99.5, 100.5), 100.0 is
// [99.95, 100.05) and 1e2 is [50, 150).
func DecimalRange(s string) (low, high float64, ok bool) {
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > 400 || e < -400 {
			return 0, 0, false
		}
		mant, exp = s[:i], e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	places := len(frac) - exp
	// The digits as an integer m and the value as m·10^-places; with m exact
	// in a float64 and 10^places exact too, each bound is one correctly
	// rounded operation.
	m, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err == nil && m > -1<<52 && m < 1<<52 && places >= -22 && places <= 22 {
		scale := math.Pow10(abs(places))
		if places >= 0 {
			return (float64(m) - 0.5) / scale, (float64(m) + 0.5) / scale, true
		}
		return (float64(m) - 0.5) * scale, (float64(m) + 0.5) * scale, true
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, 0, false
	}
	half := big.NewRat(1, 2)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(places))), nil))
	if places >= 0 {
		half.Quo(half, scale)
	} else {
		half.Mul(half, scale)
	}
	low, _ = new(big.Rat).Sub(v, half).Float64()
	high, _ = new(big.Rat).Add(v, half).Float64()
	return low, high, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// foldSpecial are letters that Unicode does not decompose into a base letter
// and a mark; they fold as Norwegian and other European readers expect.
var foldSpecial = map[rune]string{
	'æ': "ae", 'ø': "o", 'œ': "oe", 'ß': "ss", 'đ': "d", 'ð': "d", 'ł': "l", 'þ': "th", 'ı': "i",
}

// Normalize returns s in the form string search compares: lower case, with
// diacritics removed (é→e, å→a, ü→u) and æ→ae, ø→o, œ→oe, ß→ss, so "Ærø" and
// "aero" match each other. The same function must normalize search input.
func Normalize(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if f, ok := foldSpecial[r]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFC.String(b.String())
}
