package mtu

import (
	_ "embed"
	"fmt"
	"strings"
)

// System URIs of the codings the connector writes.
const (
	systemMDC   = "urn:iso:std:iso:11073:10101"
	systemLOINC = "http://loinc.org"
	systemUCUM  = "http://unitsofmeasure.org"
	// systemEUI64 is the identifier system of IEEE EUI-64 device
	// identifiers, as the HL7 Personal Health Device IG writes them.
	systemEUI64 = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
)

//go:embed metrics.tsv
var metricsTSV string

//go:embed units.tsv
var unitsTSV string

// metric is one row of metrics.tsv: an MDC metric and its LOINC code.
type metric struct {
	MDC, RefID, Term, LOINC, Display, UCUM, Panel, Source string
}

// unitRow is one row of units.tsv: an MDC unit and its UCUM code.
type unitRow struct {
	MDC, RefID, Term, UCUM, Source string
}

// Columns of the embedded tables.
const (
	metricColumns = 8
	unitColumns   = 5
)

// panels are the vital-signs panels components are grouped into.
var panels = map[string]string{"85354-9": "Blood pressure panel with all children optional"}

var (
	metricsByCode = map[string][]metric{}
	unitsByCode   = map[string]string{} // MDC unit code → UCUM
	unitsByRefID  = map[string]string{} // MDC_DIM_… → UCUM
	ucumKnown     = map[string]bool{}
)

func init() {
	for _, m := range metricRows() {
		metricsByCode[m.MDC] = append(metricsByCode[m.MDC], m)
	}
	for _, u := range unitRows() {
		unitsByCode[u.MDC], unitsByRefID[u.RefID] = u.UCUM, u.UCUM
		ucumKnown[u.UCUM] = true
	}
	for _, ms := range metricsByCode {
		for _, m := range ms {
			ucumKnown[m.UCUM] = true
		}
	}
}

// metricRows reads metrics.tsv.
func metricRows() []metric {
	var out []metric
	for _, f := range rows(metricsTSV, metricColumns) {
		out = append(out, metric{MDC: f[0], RefID: f[1], Term: f[2], LOINC: f[3], Display: f[4], UCUM: f[5], Panel: f[6], Source: f[7]})
	}
	return out
}

// unitRows reads units.tsv.
func unitRows() []unitRow {
	var out []unitRow
	for _, f := range rows(unitsTSV, unitColumns) {
		out = append(out, unitRow{MDC: f[0], RefID: f[1], Term: f[2], UCUM: f[3], Source: f[4]})
	}
	return out
}

// rows reads a TSV of n columns, skipping comments; a malformed row is a
// bug in the embedded data, so it panics at start.
func rows(tsv string, n int) [][]string {
	var out [][]string
	for line := range strings.Lines(tsv) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != n {
			panic(fmt.Sprintf("mtu: embedded table row %q has %d columns, want %d", line, len(f), n))
		}
		out = append(out, f)
	}
	return out
}

// lookupMetric returns the LOINC mapping of an MDC metric code measured in
// ucum: the row for that unit when the code has several, else its one row.
func lookupMetric(code, ucum string) (metric, bool) {
	ms := metricsByCode[code]
	switch len(ms) {
	case 0:
		return metric{}, false
	case 1:
		return ms[0], true
	}
	for _, m := range ms {
		if m.UCUM == ucum {
			return m, true
		}
	}
	return metric{}, false
}

// unit is OBX-6 read: its UCUM code when known, and what was written.
type unit struct {
	UCUM    string // "" when the unit could not be turned into UCUM
	Text    string // the unit as the sender named it
	Known   bool   // the unit is MDC in units.tsv, or UCUM
	Written bool
}

// readUnit reads OBX-6 (CWE): an MDC unit code (…^MDC), a UCUM code
// (…^UCUM), or text.
func readUnit(code, text, system string) unit {
	u := unit{Text: text, Written: code != "" || text != ""}
	if u.Text == "" {
		u.Text = code
	}
	switch strings.ToUpper(system) {
	case "MDC":
		if ucum, ok := unitsByCode[code]; ok {
			u.UCUM, u.Known = ucum, true
		} else if ucum, ok := unitsByRefID[text]; ok {
			u.UCUM, u.Known = ucum, true
		}
	case "UCUM":
		u.UCUM, u.Known = code, plausibleUCUM(code)
	default:
		if ucum, ok := unitsByRefID[code]; ok {
			u.UCUM, u.Known = ucum, true
		} else if ucumKnown[code] {
			u.UCUM, u.Known = code, true
		}
	}
	return u
}

// plausibleUCUM reports whether s could be a UCUM code: printable ASCII
// without spaces, balanced brackets. The connector does not parse UCUM's
// grammar; the units it maps are in its tables.
func plausibleUCUM(s string) bool {
	if s == "" {
		return false
	}
	depth := 0
	for i := range len(s) {
		c := s[i]
		switch {
		case c <= ' ' || c > '~':
			return false
		case c == '[' || c == '(' || c == '{':
			depth++
		case c == ']' || c == ')' || c == '}':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// Vital is what the mapping tables say of an MDC metric measured in an
// MDC unit: the UCUM unit and, when metrics.tsv maps the metric, its LOINC
// coding and vital-signs panel.
type Vital struct {
	UCUM           string
	LOINC, Display string // "" when the metric has no LOINC row
	Panel          string // the panel's LOINC code, "" for none
	PanelDisplay   string
}

// LookupMDC maps an MDC metric measured in an MDC unit (32-bit codes in
// decimal) by metrics.tsv and units.tsv; ok is false when units.tsv does
// not know the unit. Writers of PHD uploads (devicesim) use it so that
// both feeds code a metric alike.
func LookupMDC(metricCode, unitCode string) (v Vital, ok bool) {
	v.UCUM, ok = unitsByCode[unitCode]
	if !ok {
		return Vital{}, false
	}
	if m, found := lookupMetric(metricCode, v.UCUM); found {
		v.LOINC, v.Display, v.Panel, v.PanelDisplay = m.LOINC, m.Display, m.Panel, panels[m.Panel]
	}
	return v, true
}
