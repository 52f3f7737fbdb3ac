package access

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/fhirstore/searchparam"
	"hpsandbox/smart"
)

// The checks of resource bodies in this file are what stays of the guard's
// own copy of compartment and token matching. They judge what the store
// has not indexed: past versions (vread, history), whose index rows are
// not kept. Everything current is judged by the store: reads and searches
// under the confinement, and what a write writes by the engine inside its
// transaction.

// allows checks that a resource body lies within permission p: in the
// patient's compartment at patient level, and matching a constraint when
// the scope has some. The error says why not, for an OperationOutcome.
// base is the FHIR base absolute references must start with.
func allows(base, typ, id string, body []byte, p smart.Permission) error {
	if !confined(p) {
		return nil
	}
	var idx *searchparam.Index
	index := func() (*searchparam.Index, error) {
		if idx == nil {
			var err error
			if idx, err = searchparam.Extract(typ, body); err != nil {
				return nil, fmt.Errorf("%s is not a valid %s: %v", refName(typ, id), typ, err)
			}
		}
		return idx, nil
	}
	if p.Level == smart.LevelPatient {
		ok, err := inCompartment(base, typ, id, body, p.Patient, index)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s is not in the compartment of Patient/%s, the patient in context", refName(typ, id), p.Patient)
		}
	}
	if len(p.Constraints) > 0 {
		ix, err := index()
		if err != nil {
			return err
		}
		if !matchesAny(typ, ix, p.Constraints) {
			return fmt.Errorf("%s does not match the constraints of the token's %s scope (%s)", refName(typ, id), typ, constraintList(p.Constraints))
		}
	}
	return nil
}

func refName(typ, id string) string {
	if id == "" {
		return "the " + typ
	}
	return typ + "/" + id
}

// inCompartment reports whether the resource is in Patient/patient's
// compartment: the Patient itself, or a resource whose compartment
// parameters (searchparam.PatientCompartment) reference that Patient,
// relatively or by this server's absolute URL.
func inCompartment(base, typ, id string, body []byte, patient string, index func() (*searchparam.Index, error)) (bool, error) {
	if typ == "Patient" && id == patient {
		return true, nil
	}
	params := searchparam.PatientCompartment(typ)
	// Any reference to the patient spells "Patient/<id>", so a body without
	// it is outside without the cost of extracting its index.
	if len(params) == 0 || !bytes.Contains(body, []byte("Patient/"+patient)) {
		return false, nil
	}
	idx, err := index()
	if err != nil {
		return false, err
	}
	for _, r := range idx.References {
		if r.TargetType == "Patient" && r.TargetID == patient && slices.Contains(params, r.Param) &&
			(r.URL == "" || strings.HasPrefix(r.URL, base+"/")) {
			return true, nil
		}
	}
	return false, nil
}

// matchesAny reports whether the resource matches at least one of the
// constraint queries, by the rule the store applies (see constraint):
// token parameters only, without modifiers.
func matchesAny(typ string, idx *searchparam.Index, constraints []url.Values) bool {
	for _, q := range constraints {
		if matchesAll(typ, idx, q) {
			return true
		}
	}
	return false
}

func matchesAll(typ string, idx *searchparam.Index, q url.Values) bool {
	for name, values := range q {
		sp, ok := searchparam.Lookup(typ, name)
		if !ok || sp.Type != searchparam.Token {
			return false
		}
		for _, v := range values { // repeated parameters: each must match
			if !tokenMatches(idx, name, v) {
				return false
			}
		}
	}
	return true
}

// tokenMatches reports whether any of the comma-separated alternatives in
// value matches a token row of param.
func tokenMatches(idx *searchparam.Index, param, value string) bool {
	for alt := range strings.SplitSeq(value, ",") {
		system, code, hasSystem := strings.Cut(alt, "|")
		if !hasSystem {
			code, system = system, ""
		}
		for _, r := range idx.Tokens {
			if r.Param != param || r.Code == "" && r.System == "" {
				continue
			}
			switch {
			case !hasSystem && r.Code == code,
				hasSystem && system == "" && r.System == "" && r.Code == code,
				hasSystem && system != "" && code == "" && r.System == system,
				hasSystem && system != "" && r.System == system && r.Code == code:
				return true
			}
		}
	}
	return false
}
