package profile

import (
	"slices"
	"strings"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile/internal/expand"
)

// valueSet returns the expansion of a value set url (a version after '|' is
// ignored), or nil when no set in the chain has it.
func (d *Definitions) valueSet(url string) *expand.Expansion {
	if i := strings.IndexByte(url, '|'); i >= 0 {
		url = url[:i]
	}
	for s := d; s != nil; s = s.parent {
		var x *expand.Expansion
		if s.parent == nil {
			x = s.terms.ValueSets[url] // the core set never changes
		} else {
			s.mu.Lock()
			x = s.terms.ValueSets[url]
			s.mu.Unlock()
		}
		if x != nil {
			return x
		}
	}
	return nil
}

// systemCodes returns the codes of a complete code system known here.
func (d *Definitions) systemCodes(system string) (map[string]bool, bool) {
	for s := d; s != nil; s = s.parent {
		s.mu.Lock()
		codes, ok := s.codes[system]
		if !ok {
			if list, found := s.terms.CodeSystems[system]; found {
				codes = make(map[string]bool, len(list))
				for _, c := range list {
					codes[c] = true
				}
				s.codes[system] = codes
				ok = true
			}
		}
		s.mu.Unlock()
		if ok {
			return codes, true
		}
	}
	return nil, false
}

// uncheckable are code systems too large to hold here; their codes are
// accepted with a note.
func uncheckable(system string) bool {
	switch system {
	case "http://snomed.info/sct", "http://loinc.org", "http://unitsofmeasure.org",
		"http://www.nlm.nih.gov/research/umls/rxnorm", "http://hl7.org/fhir/sid/icd-10",
		"http://hl7.org/fhir/sid/icd-10-cm", "urn:ietf:bcp:47", "urn:ietf:bcp:13", "urn:iso:std:iso:3166",
		"urn:iso:std:iso:4217", "http://hl7.org/fhir/sid/cvx", "http://www.whocc.no/atc":
		return true
	}
	return false
}

type coded struct{ system, code string }

// codes extracts the (system, code) pairs of a coded value.
func codes(v *jvalue, typ string) ([]coded, bool) {
	switch typ {
	case "code", "string", "uri", "url", "canonical":
		if v.kind == kString {
			return []coded{{"", v.str}}, true
		}
	case "Coding", "Quantity":
		c := v.get("code")
		if c == nil {
			return nil, typ == "Coding"
		}
		return []coded{{v.get("system").strOr(""), c.str}}, true
	case "CodeableConcept":
		var out []coded
		for _, cd := range v.get("coding").list() {
			if c := cd.get("code"); c != nil {
				out = append(out, coded{cd.get("system").strOr(""), c.str})
			}
		}
		return out, true
	}
	return nil, false
}

// binding checks a coded value against the value set its element is bound to.
func (r *run) binding(v *jvalue, typ string, b *Binding, path pathID) {
	var sev outcome.Severity
	switch b.Strength {
	case "required":
		sev = outcome.ErrorLevel
	case "extensible", "preferred":
		sev = outcome.Warning
	default:
		return
	}
	list, ok := codes(v, typ)
	if !ok {
		return
	}
	x := r.d.valueSet(b.ValueSet)
	if x == nil {
		if b.Strength == "required" {
			r.add(outcome.Warning, outcome.NotFound, path, "binding",
				"The value set %s is not available here, so the code was not checked", b.ValueSet)
		}
		return
	}
	if len(list) == 0 {
		if typ == "CodeableConcept" && b.Strength == "required" && v.get("text") == nil {
			r.add(sev, codeInvalid, path, "binding",
				"No code provided, and a code is required from the value set %s", b.ValueSet)
		}
		return
	}
	var unchecked []string
	for _, c := range list {
		switch inValueSet(x, c) {
		case yes:
			return
		case unknown:
			unchecked = append(unchecked, c.system)
		}
	}
	if len(unchecked) > 0 {
		r.add(outcome.Information, outcome.Informational, path, "binding",
			"The code of system %s was not checked against the value set %s: the system is not available here", unchecked[0], b.ValueSet)
		return
	}
	c := list[0]
	what := c.code
	if c.system != "" {
		what = c.system + "#" + c.code
	}
	if len(list) > 1 {
		r.add(sev, codeInvalid, path, "binding",
			"None of the codes provided are in the value set %s (%s binding)", b.ValueSet, b.Strength)
		return
	}
	r.add(sev, codeInvalid, path, "binding",
		"The code provided (%s) was not found in the value set %s (%s binding)", what, b.ValueSet, b.Strength)
}

type answer int

const (
	no answer = iota
	yes
	unknown
)

// inValueSet says whether an expansion holds a code; for a bare code (no
// system) any system of the expansion will do.
func inValueSet(x *expand.Expansion, c coded) answer {
	if c.system == "" {
		for _, list := range x.Codes {
			if _, ok := slices.BinarySearch(list, c.code); ok {
				return yes
			}
		}
		if len(x.Open) > 0 {
			return unknown
		}
		return no
	}
	if list, ok := x.Codes[c.system]; ok {
		if _, found := slices.BinarySearch(list, c.code); found {
			return yes
		}
	}
	if slices.Contains(x.Open, c.system) || uncheckable(c.system) && len(x.Codes[c.system]) == 0 && len(x.Open) > 0 {
		return unknown
	}
	return no
}

// codeSystem checks a Coding's code against its system when the system is
// one held here in full.
func (r *run) codeSystem(v *jvalue, path pathID) {
	sys, code := v.get("system"), v.get("code")
	if sys == nil || code == nil || sys.kind != kString || code.kind != kString {
		return
	}
	known, ok := r.d.systemCodes(sys.str)
	if !ok || len(known) == 0 {
		return
	}
	if !known[code.str] {
		r.add(outcome.ErrorLevel, codeInvalid, r.child(path, "code"), "code",
			"Unknown code '%s' in the code system %s", code.str, sys.str)
	}
}

// codeInvalid is the IssueType code of a code not in its value set or system.
const codeInvalid outcome.Code = "code-invalid"
