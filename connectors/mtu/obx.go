package mtu

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hpsandbox/connectors/hl7v2"
)

// obj is a FHIR JSON object under construction.
type obj = map[string]any

// codeSystems turns HL7 v2 coding-system names (table 0396) into FHIR
// system URIs.
var codeSystems = map[string]string{
	"MDC": systemMDC, "LN": systemLOINC, "UCUM": systemUCUM,
	"SCT": "http://snomed.info/sct", "SNOMED-CT": "http://snomed.info/sct", "SNM": "http://snomed.info/sct",
}

func systemOf(name string) string {
	if s, ok := codeSystems[strings.ToUpper(name)]; ok {
		return s
	}
	if n, ok := strings.CutPrefix(strings.ToUpper(name), "HL7"); ok && len(n) == 4 {
		return "http://terminology.hl7.org/CodeSystem/v2-" + n
	}
	return ""
}

// coding is a CWE's first triplet (code^text^system) as a FHIR Coding.
func coding(v hl7v2.Value) obj {
	c := obj{}
	if code := v.Comp(1).String(); code != "" {
		c["code"] = code
	}
	if text := v.Comp(2).String(); text != "" {
		c["display"] = text
	}
	if sys := systemOf(v.Comp(3).String()); sys != "" {
		c["system"] = sys
	}
	return c
}

// observationStatus maps OBX-11 (HL7 table 0085) to Observation.status,
// and interpretations the abnormal flags of OBX-8 (table 0078) to
// ObservationInterpretation codes, as v2fhir.tsv has them.
var observationStatus, interpretations = v2fhirMaps()

//go:embed v2fhir.tsv
var v2fhirTSV string

func v2fhirMaps() (status, interpretation map[string]string) {
	status, interpretation = map[string]string{}, map[string]string{}
	for _, f := range rows(v2fhirTSV, 4) {
		switch f[0] {
		case "0085":
			status[f[1]] = f[2]
		case "0078":
			interpretation[f[1]] = f[2]
		default:
			panic(fmt.Sprintf("mtu: v2fhir.tsv names table %s, which the connector does not map", f[0]))
		}
	}
	return status, interpretation
}

// fhirNumber is an HL7 NM as a JSON number, or false when it is none:
// NM allows a leading sign and leading or trailing zeros that JSON does
// not.
func fhirNumber(s string) (json.Number, bool) {
	s = strings.TrimSpace(s)
	if _, err := strconv.ParseFloat(s, 64); err != nil || strings.ContainsAny(s, "eEInfinityNaNx_") {
		return "", false
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	intPart, frac, hasDot := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	out := intPart
	if hasDot && frac != "" {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return json.Number(out), true
}

// fhirTime writes an HL7 timestamp as a FHIR dateTime: a date alone when
// only the date was written, else to the second with its offset (read in
// loc when it named none).
func fhirTime(ts hl7v2.TS) string {
	switch {
	case ts.Digits <= 4:
		return ts.Time.Format("2006")
	case ts.Digits <= 6:
		return ts.Time.Format("2006-01")
	case ts.Digits <= 8:
		return ts.Time.Format("2006-01-02")
	}
	return ts.Time.Format(time.RFC3339Nano)
}

// containment is OBX-4 read as the MDS.VMD.CHAN.METRIC path of IHE PCD:
// its parent is the path without the last level.
func parentOf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}
