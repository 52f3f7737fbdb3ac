// Package nin is the test-data guard of the connectors: it tells synthetic
// Norwegian national identity numbers (fødselsnummer, and D-numbers) from
// ones that could be a real person's, and scans FHIR documents for
// identifiers of those systems, so that a connector refuses a submission
// that carries a real-looking number before anything of it is stored.
//
// A number is synthetic when its month field is in one of the series
// Norwegian registers reserve for test persons: month + 80 (81–92, the
// synthetic population of the national test registers, which the sandbox's
// fixtures use) or month + 40 (41–52, the older test series). A D-number
// (day + 40) counts as synthetic only when its month is in one of those
// series too: a D-number with an ordinary month belongs to a real person
// living in Norway without a fødselsnummer. Either kind must be well formed:
// 11 digits, a day and month that exist in the series, and both mod-11
// control digits right. Numbers on an allow-list (configuration of the
// connector) pass whatever they look like.
//
// Refusals never repeat the number: diagnostics name the element and the
// reason only, so that an OperationOutcome, a log line or a report does not
// spread what may be a real person's identity.
//
// The package does not judge other identifiers (HPR numbers, organisation
// numbers) nor free text.
package nin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"hpsandbox/fhirstore/outcome"
)

// Identifier systems of national identity numbers (HL7 Norway no-basis).
const (
	SystemFNR = "urn:oid:2.16.578.1.12.4.1.4.1" // fødselsnummer
	SystemDNR = "urn:oid:2.16.578.1.12.4.1.4.2" // D-nummer
)

var (
	weights1 = [9]int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	weights2 = [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
)

// Synthetic reports whether id is a synthetic national identity number or
// D-number, or one on allow; when not, reason says why in words that do
// not repeat the number.
func Synthetic(id string, allow []string) (ok bool, reason string) {
	if slices.Contains(allow, id) {
		return true, ""
	}
	if len(id) != 11 {
		return false, "it is not 11 digits"
	}
	var d [11]int
	for i := range 11 {
		if id[i] < '0' || id[i] > '9' {
			return false, "it is not 11 digits"
		}
		d[i] = int(id[i] - '0')
	}
	day, month := d[0]*10+d[1], d[2]*10+d[3]
	if day > 40 {
		day -= 40 // a D-number
	}
	switch {
	case month >= 81 && month <= 92:
		month -= 80
	case month >= 41 && month <= 52:
		month -= 40
	case month >= 1 && month <= 12:
		return false, "its month is an ordinary month, not one of the synthetic series (41–52, 81–92): it may be a real person's number"
	default:
		return false, "its month field is not a month of any series"
	}
	if day < 1 || day > daysIn(month) {
		return false, "its day field is not a day of the month"
	}
	if k, ok := control(d[:9], weights1[:]); !ok || k != d[9] {
		return false, "its first control digit is wrong"
	}
	if k, ok := control(d[:10], weights2[:]); !ok || k != d[10] {
		return false, "its second control digit is wrong"
	}
	return true, ""
}

// daysIn is the most days month has (29 for February: the year is not
// known from the number alone without the individual number's span).
func daysIn(month int) int {
	switch month {
	case 2:
		return 29
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// control is the mod-11 control digit of digits; false when it would be
// 10, which no issued number has.
func control(digits, weights []int) (int, bool) {
	sum := 0
	for i, w := range weights {
		sum += digits[i] * w
	}
	switch k := 11 - sum%11; k {
	case 11:
		return 0, true
	case 10:
		return 0, false
	default:
		return k, true
	}
}

// Check scans doc, a FHIR resource in JSON (a Bundle and its entries, a
// contained resource, any depth), for identifiers whose system is SystemFNR
// or SystemDNR, and returns nil when every one is synthetic (Synthetic) or
// on allow. Otherwise it returns an error of category Unprocessable (HTTP
// 422: the document is well formed, but what it says breaks the rule that a
// sandbox holds synthetic persons only) with issue code business-rule,
// one issue per offending identifier, each naming its element by a
// FHIRPath-like location (Bundle.entry[0].resource.subject.identifier.value)
// and the reason, never the number. A doc that is not JSON is Incorrect.
func Check(doc []byte, allow []string) *outcome.Error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return outcome.New(outcome.Incorrect, outcome.Structure, "the body is not JSON")
	}
	return CheckValue(v, allow)
}

// CheckValue is Check of a document already decoded by encoding/json (into
// any: maps, slices, strings, numbers), for a caller that reads the
// document anyway and need not have it decoded twice.
func CheckValue(v any, allow []string) *outcome.Error {
	root := "$"
	if m, ok := v.(map[string]any); ok {
		if t, ok := m["resourceType"].(string); ok && validName(t) {
			root = t
		}
	}
	var issues []outcome.Issue
	w := walker{allow: allow, issues: &issues, root: root}
	w.walk(v)
	if len(issues) == 0 {
		return nil
	}
	return &outcome.Error{Category: outcome.Unprocessable, Issues: issues}
}

// MaxIssues bounds the issues of one refusal; the last one says how many
// more there were.
const MaxIssues = 20

// walker visits every object of a document; steps is the location of the
// current one, joined into a path only for an issue, as nearly every
// document has none.
type walker struct {
	allow  []string
	issues *[]outcome.Issue
	root   string
	steps  []step
}

// step is a member of an object (key, index -1) or an element of an
// array (index).
type step struct {
	key   string
	index int
}

func (w *walker) walk(v any) {
	switch v := v.(type) {
	case map[string]any:
		if sys, ok := v["system"].(string); ok && (sys == SystemFNR || sys == SystemDNR) {
			judge(v["value"], w.path, sys, w.allow, w.issues)
		}
		var keys []string
		for k, x := range v {
			if holdsObjects(x) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys) // issues in a stable order
		for _, k := range keys {
			w.steps = append(w.steps, step{key: k, index: -1})
			w.walk(v[k])
			w.steps = w.steps[:len(w.steps)-1]
		}
	case []any:
		for i, e := range v {
			if holdsObjects(e) {
				w.steps = append(w.steps, step{index: i})
				w.walk(e)
				w.steps = w.steps[:len(w.steps)-1]
			}
		}
	}
}

// path is the location of the current object.
func (w *walker) path() string {
	var b strings.Builder
	b.WriteString(w.root)
	for _, s := range w.steps {
		if s.index < 0 {
			b.WriteString("." + name(s.key))
		} else {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		}
	}
	return b.String()
}

// holdsObjects reports whether v is an object or array, where an
// identifier can be; a primitive has nothing to visit.
func holdsObjects(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func judge(value any, path func() string, system string, allow []string, issues *[]outcome.Issue) {
	what := "a national identity number"
	if system == SystemDNR {
		what = "a D-number"
	}
	var reason string
	switch s := value.(type) {
	case string:
		ok, why := Synthetic(s, allow)
		if ok {
			return
		}
		reason = why
	case nil:
		return // no value: nothing that could be a person's number
	default:
		reason = "it is not a string"
	}
	n := len(*issues)
	switch {
	case n < MaxIssues:
		*issues = append(*issues, outcome.Issue{Severity: outcome.ErrorLevel, Code: outcome.BusinessRule,
			Diagnostics: fmt.Sprintf("%s (%s) is not synthetic: %s. The sandbox takes synthetic persons only (month + 80 or + 40); nothing was stored", what, system, reason),
			Expression:  []string{path() + ".value"}})
	case n == MaxIssues:
		*issues = append(*issues, outcome.Issue{Severity: outcome.ErrorLevel, Code: outcome.BusinessRule,
			Diagnostics: fmt.Sprintf("more identity numbers are not synthetic; only the first %d are named", MaxIssues)})
	}
}

// name is a JSON key as a path step; a key that is not a FHIR element name
// is quoted, so that a crafted key cannot forge a location.
func name(k string) string {
	if validName(k) {
		return k
	}
	return strconv.Quote(k)
}

func validName(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	return strings.IndexFunc(k, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_'
	}) < 0
}
