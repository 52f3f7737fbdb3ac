package mtu

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"hpsandbox/connectors/hl7v2"
)

var (
	mdcCodeRE = regexp.MustCompile(`^[1-9][0-9]{0,9}$`)
	refIDRE   = regexp.MustCompile(`^MDC_[A-Z0-9_]+$`)
	termRE    = regexp.MustCompile(`^([0-9]+)::([0-9]+)$`)
	loincRE   = regexp.MustCompile(`^([0-9]{1,7})-([0-9])$`)
	sourceRE  = regexp.MustCompile(`^(phd:[A-Za-z0-9._-]+|r4:[a-z]+|mdc-term|cardx|loinc-term|ucum)$`)
)

// loincCheckDigit computes LOINC's mod-10 check digit of the code's digits
// before the hyphen: from the rightmost digit, every other digit doubled
// (the Luhn scheme LOINC's users' guide describes).
func loincCheckDigit(body string) int {
	sum := 0
	double := true
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return (10 - sum%10) % 10
}

func TestLOINCCheckDigit_KnownCodes(t *testing.T) {
	for _, code := range []string{"8867-4", "2708-6", "8480-6", "8462-4", "29463-7", "85354-9", "59408-5", "41653-7"} {
		m := loincRE.FindStringSubmatch(code)
		if want, _ := strconv.Atoi(m[2]); loincCheckDigit(m[1]) != want {
			t.Errorf("check digit of %s = %d, want %d", code, loincCheckDigit(m[1]), want)
		}
	}
	if m := loincRE.FindStringSubmatch("8867-5"); loincCheckDigit(m[1]) == 5 {
		t.Error("8867-5 passes the check digit")
	}
}

// checkTerm reports whether code is partition*65536+term as term writes it
// and the partition is want.
func checkTerm(t *testing.T, row, code, term string, want int) {
	t.Helper()
	if !mdcCodeRE.MatchString(code) {
		t.Errorf("%s: MDC code %q is not a decimal 32-bit code", row, code)
		return
	}
	m := termRE.FindStringSubmatch(term)
	if m == nil {
		t.Errorf("%s: term %q is not partition::term", row, term)
		return
	}
	c, _ := strconv.ParseUint(code, 10, 32)
	p, _ := strconv.Atoi(m[1])
	n, _ := strconv.Atoi(m[2])
	if n > 0xFFFF || uint64(p)<<16+uint64(n) != c {
		t.Errorf("%s: code %s is not %d*65536+%d", row, code, p, n)
	}
	if p != want {
		t.Errorf("%s: partition %d, want %d", row, p, want)
	}
}

func checkSources(t *testing.T, row, sources string) {
	t.Helper()
	f := strings.Fields(sources)
	if len(f) == 0 {
		t.Errorf("%s: no source", row)
	}
	for _, s := range f {
		if !sourceRE.MatchString(s) {
			t.Errorf("%s: source %q is not one of the keys the table names", row, s)
		}
	}
}

func TestMetricsTable_Integrity(t *testing.T) {
	seen := map[string]bool{}
	refOf := map[string]string{}
	for _, m := range metricRows() {
		row := m.MDC + " " + m.RefID
		checkTerm(t, row, m.MDC, m.Term, 2) // every metric is a SCADA term
		if !refIDRE.MatchString(m.RefID) {
			t.Errorf("%s: reference id %q malformed", row, m.RefID)
		}
		if r, ok := refOf[m.MDC]; ok && r != m.RefID {
			t.Errorf("%s: code also named %s", row, r)
		}
		refOf[m.MDC] = m.RefID
		codes := []string{m.LOINC}
		if m.Panel != "" {
			codes = append(codes, m.Panel)
		}
		for _, code := range codes {
			lm := loincRE.FindStringSubmatch(code)
			if lm == nil {
				t.Errorf("%s: LOINC %q malformed", row, code)
				continue
			}
			if want, _ := strconv.Atoi(lm[2]); loincCheckDigit(lm[1]) != want {
				t.Errorf("%s: LOINC %s fails its check digit (want %d)", row, code, loincCheckDigit(lm[1]))
			}
		}
		if m.Panel != "" && panels[m.Panel] == "" {
			t.Errorf("%s: panel %s has no display", row, m.Panel)
		}
		if m.Display == "" || !plausibleUCUM(m.UCUM) {
			t.Errorf("%s: display %q or UCUM %q missing", row, m.Display, m.UCUM)
		}
		key := m.MDC + "|" + m.UCUM
		if seen[key] {
			t.Errorf("%s: duplicate row for unit %s", row, m.UCUM)
		}
		seen[key] = true
		checkSources(t, row, m.Source)
	}
	if len(seen) == 0 {
		t.Fatal("metrics.tsv is empty")
	}
}

func TestUnitsTable_Integrity(t *testing.T) {
	codes, refs := map[string]bool{}, map[string]bool{}
	for _, u := range unitRows() {
		row := u.MDC + " " + u.RefID
		checkTerm(t, row, u.MDC, u.Term, 4) // units are partition 4 (DIM)
		if !refIDRE.MatchString(u.RefID) || !strings.HasPrefix(u.RefID, "MDC_DIM_") {
			t.Errorf("%s: reference id %q is not an MDC_DIM_ id", row, u.RefID)
		}
		if codes[u.MDC] || refs[u.RefID] {
			t.Errorf("%s: duplicate", row)
		}
		codes[u.MDC], refs[u.RefID] = true, true
		if !plausibleUCUM(u.UCUM) {
			t.Errorf("%s: UCUM %q malformed", row, u.UCUM)
		}
		checkSources(t, row, u.Source)
	}
}

// Every unit a metric row names is reachable from an MDC unit, so a device
// reporting in MDC units gets the row's LOINC code.
func TestMetricsTable_UnitsHaveMDCUnits(t *testing.T) {
	for _, m := range metricRows() {
		if _, ok := ucumFromMDC(m.UCUM); !ok {
			t.Errorf("%s %s: no MDC unit maps to %s", m.MDC, m.RefID, m.UCUM)
		}
	}
}

func ucumFromMDC(ucum string) (string, bool) {
	for _, u := range unitRows() {
		if u.UCUM == ucum {
			return u.MDC, true
		}
	}
	return "", false
}

// observationStatuses are the codes of FHIR R4's ObservationStatus.
var observationStatuses = map[string]bool{"registered": true, "preliminary": true, "final": true, "amended": true,
	"corrected": true, "cancelled": true, "entered-in-error": true, "unknown": true}

// Every row of v2fhir.tsv maps a code of its HL7 v2 table (v2tables.json)
// to a FHIR code, names a source, and no code is mapped twice.
func TestV2FHIRTable_Integrity(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range rows(v2fhirTSV, 4) {
		table, code, fhir, source := f[0], f[1], f[2], f[3]
		row := table + " " + code
		if !inTable(table, code) {
			t.Errorf("%s: not a code of HL7 table %s", row, table)
		}
		if seen[row] {
			t.Errorf("%s: mapped twice", row)
		}
		seen[row] = true
		if table == "0085" && !observationStatuses[fhir] {
			t.Errorf("%s: %q is not an ObservationStatus", row, fhir)
		}
		if source != "v2-to-fhir" && source != "pcd" {
			t.Errorf("%s: source %q is not one the file names", row, source)
		}
	}
	if observationStatus["F"] != "final" || observationStatus["R"] != "preliminary" || interpretations["HH"] != "HH" {
		t.Errorf("maps: %v %v", observationStatus, interpretations)
	}
	if _, ok := interpretations["OBX"]; ok {
		t.Error("0078 OBX (interpretation qualifiers in separate OBX) is no interpretation")
	}
}

// The acknowledgment and error codes package hl7v2 names as constants are
// codes of their tables (0008, 0357) as the data has them.
func TestHL7v2Constants_AreInTheirTables(t *testing.T) {
	for _, c := range []string{hl7v2.AA, hl7v2.AE, hl7v2.AR} {
		if !inTable("0008", c) {
			t.Errorf("%s is not in table 0008", c)
		}
	}
	for _, c := range []string{hl7v2.CodeAccepted, hl7v2.CodeSegmentSequence, hl7v2.CodeRequiredMissing, hl7v2.CodeDataType,
		hl7v2.CodeTableValue, hl7v2.CodeUnsupportedMessage, hl7v2.CodeUnsupportedEvent, hl7v2.CodeUnsupportedProcID,
		hl7v2.CodeUnsupportedVersion, hl7v2.CodeUnknownKey, hl7v2.CodeDuplicateKey, hl7v2.CodeInternal} {
		if !inTable("0357", c) {
			t.Errorf("%s is not in table 0357", c)
		}
	}
}
