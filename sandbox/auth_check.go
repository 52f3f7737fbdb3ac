package sandbox

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/fhirstore/searchparam"
	"hpsandbox/smart"
)

// access is one authenticated request's grant, with the decisions made so
// far cached by resource type and interaction.
type access struct {
	grant   *smart.Grant
	sandbox string
	base    string // the FHIR base absolute references must start with
	perms   map[permKey]permit
	// countConfined is set when a search was narrowed to what the grant
	// may see, so that its total may be answered without matches.
	countConfined bool
}

type permKey struct {
	typ string
	in  smart.Interaction
}

type permit struct {
	p   smart.Permission
	err error
}

// permit asks the grant, once per type and interaction.
func (a *access) permit(typ string, in smart.Interaction) (smart.Permission, error) {
	k := permKey{typ, in}
	if r, ok := a.perms[k]; ok {
		return r.p, r.err
	}
	p, err := a.grant.Permit(typ, in)
	if id, ok := strings.CutPrefix(a.grant.FHIRUser, "Patient/"); ok && err == nil && p.Level == smart.LevelUser {
		// What a patient signed in as the user may see is their own record.
		p.Level, p.Patient = smart.LevelPatient, id
	}
	if a.perms == nil {
		a.perms = map[permKey]permit{}
	}
	a.perms[k] = permit{p, err}
	return p, err
}

// confined reports whether a permission needs each resource checked: at
// patient level (compartment) or with SMART v2 constraints.
func confined(p smart.Permission) bool {
	return p.Level == smart.LevelPatient || len(p.Constraints) > 0
}

// allows checks that the grant may perform in on the resource typ/id with
// body: permitted at all, in the patient's compartment at patient level,
// and matching a constraint when the scope has some. The error says why
// not, for an OperationOutcome.
func (a *access) allows(typ, id string, body []byte, in smart.Interaction) error {
	p, err := a.permit(typ, in)
	if err != nil {
		return fmt.Errorf("the token's scopes do not permit %s on %s", interactionName(in), typ)
	}
	if !confined(p) {
		return nil
	}
	var idx *searchparam.Index
	index := func() (*searchparam.Index, error) {
		if idx == nil {
			if idx, err = searchparam.Extract(typ, body); err != nil {
				return nil, fmt.Errorf("%s is not a valid %s: %v", ref(typ, id), typ, err)
			}
		}
		return idx, nil
	}
	if p.Level == smart.LevelPatient {
		ok, err := a.inCompartment(typ, id, body, p.Patient, index)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s is not in the compartment of Patient/%s, the patient in context", ref(typ, id), p.Patient)
		}
	}
	if len(p.Constraints) > 0 {
		ix, err := index()
		if err != nil {
			return err
		}
		if !matchesAny(typ, ix, p.Constraints) {
			return fmt.Errorf("%s does not match the constraints of the token's %s scope (%s)", ref(typ, id), typ, constraintList(p.Constraints))
		}
	}
	return nil
}

func ref(typ, id string) string {
	if id == "" {
		return "the " + typ
	}
	return typ + "/" + id
}

// inCompartment reports whether the resource is in Patient/patient's
// compartment: the Patient itself, or a resource whose compartment
// parameters (searchparam.PatientCompartment) reference that Patient,
// relatively or by this server's absolute URL.
func (a *access) inCompartment(typ, id string, body []byte, patient string, index func() (*searchparam.Index, error)) (bool, error) {
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
			(r.URL == "" || strings.HasPrefix(r.URL, a.base+"/")) {
			return true, nil
		}
	}
	return false, nil
}

// matchesAny reports whether the resource matches at least one of the
// constraint queries. Only token parameters (code, system|code, |code,
// system|) are evaluated; a constraint with any other parameter or a
// modifier never matches, so what cannot be checked is refused.
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

func constraintList(cs []url.Values) string {
	parts := make([]string, len(cs))
	for i, q := range cs {
		parts[i] = "?" + q.Encode()
	}
	return strings.Join(parts, " or ")
}

func interactionName(in smart.Interaction) string {
	switch in {
	case smart.Create:
		return "create"
	case smart.Read:
		return "read"
	case smart.Update:
		return "update"
	case smart.Delete:
		return "delete"
	case smart.Search:
		return "search"
	}
	return string(rune(in))
}
