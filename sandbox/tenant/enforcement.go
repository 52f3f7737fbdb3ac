package tenant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/fhirstore/fhirjson"
)

// Bounds of a sandbox's required profiles, so that a setting cannot make
// every write slow or the registry row large.
const (
	maxRequiredTypes    = 50
	maxRequiredProfiles = 10
)

// ProfileEnforcement is what every resource written into a sandbox must
// conform to beyond valid FHIR R4, judged with the R4 core definitions and
// the StructureDefinitions, ValueSets and CodeSystems stored in the
// sandbox. A write that does not conform is refused (422) with the
// validator's OperationOutcome. The zero value enforces nothing.
type ProfileEnforcement struct {
	// Declared makes writes conform to the profiles their meta.profile
	// declares; a declared profile the sandbox does not know is refused.
	Declared bool `json:"declared"`
	// Required are canonical URLs of profiles every resource of a type
	// must conform to, by resource type.
	Required map[string][]string `json:"required,omitempty"`
}

// UnmarshalJSON reads the object as a whole: in a settings patch,
// profile_enforcement replaces the current one rather than merging into
// it, so that a type left out of required is no longer required.
func (p *ProfileEnforcement) UnmarshalJSON(data []byte) error {
	type plain ProfileEnforcement
	var v plain
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*p = ProfileEnforcement(v)
	return nil
}

func (p ProfileEnforcement) validate() error {
	const field = "settings.profile_enforcement.required"
	if len(p.Required) > maxRequiredTypes {
		return invalid(field, "%d resource types: want at most %d", len(p.Required), maxRequiredTypes)
	}
	types := make([]string, 0, len(p.Required))
	for typ := range p.Required {
		types = append(types, typ)
	}
	slices.Sort(types) // the first error is the same every time
	for _, typ := range types {
		if !fhirjson.IsType(typ) {
			return invalid(field, "%q is not a FHIR R4 resource type (such as Observation)", typ)
		}
		urls := p.Required[typ]
		if len(urls) > maxRequiredProfiles {
			return invalid(field+"."+typ, "%d profiles: want at most %d", len(urls), maxRequiredProfiles)
		}
		for _, u := range urls {
			if err := checkCanonical(u); err != nil {
				return invalid(field+"."+typ, "%v", err)
			}
		}
	}
	return nil
}

// checkCanonical accepts the canonical URL of a profile, with or without
// a |version.
func checkCanonical(raw string) error {
	base, _, _ := strings.Cut(raw, "|")
	u, err := url.Parse(base)
	if err != nil || !u.IsAbs() || (u.Scheme != "urn" && u.Host == "") || strings.ContainsAny(raw, " \t\n") {
		return fmt.Errorf("%q is not the canonical URL of a profile (such as http://hl7.org/fhir/StructureDefinition/heartrate)", raw)
	}
	return nil
}
