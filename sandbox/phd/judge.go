package phd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
)

// Rules of the judge: each is a conformance check id (Checks).
const (
	RuleTransaction       = "phd.transaction"
	RuleProfiles          = "phd.profiles"
	RuleDeviceIdentity    = "phd.device-identity"
	RuleDeviceReference   = "phd.device-reference"
	RuleEffectiveTimeZone = "phd.effective-time-zone"
	RuleRelated           = "phd.related-references"
	RuleConditionalCreate = "phd.conditional-create"
)

// Rules are the rule ids in the order Judge gives its verdicts.
var Rules = []string{RuleTransaction, RuleProfiles, RuleDeviceIdentity, RuleDeviceReference,
	RuleEffectiveTimeZone, RuleRelated, RuleConditionalCreate}

// Verdict is a rule's judgement of one upload.
type Verdict struct {
	Rule string
	// Applies is false when the upload holds nothing the rule is about.
	Applies bool
	// Issues say what breaks the rule; none when it holds.
	Issues []outcome.Issue
}

// Pass reports whether the rule applies and holds.
func (v Verdict) Pass() bool { return v.Applies && len(v.Issues) == 0 }

// maxIssues bounds the issues one verdict keeps.
const maxIssues = 10

func (v *Verdict) fail(expr, format string, args ...any) {
	if len(v.Issues) >= maxIssues {
		return
	}
	is := outcome.Issue{Severity: outcome.ErrorLevel, Code: outcome.Invariant, Diagnostics: fmt.Sprintf(format, args...)}
	if expr != "" {
		is.Expression = []string{expr}
	}
	v.Issues = append(v.Issues, is)
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type reference struct {
	Reference string `json:"reference"`
}

type entryJSON struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Request  *struct {
		Method      string `json:"method"`
		URL         string `json:"url"`
		IfNoneExist string `json:"ifNoneExist"`
	} `json:"request"`
}

type bundleJSON struct {
	ResourceType string      `json:"resourceType"`
	Type         string      `json:"type"`
	Entry        []entryJSON `json:"entry"`
}

// resourceJSON is what the rules read of an entry's resource.
type resourceJSON struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Meta         struct {
		Profile []string `json:"profile"`
	} `json:"meta"`
	Identifier []struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
	Type *struct {
		Coding []coding `json:"coding"`
	} `json:"type"`
	Code *struct {
		Coding []coding `json:"coding"`
	} `json:"code"`
	Device            *reference              `json:"device"`
	Subject           *reference              `json:"subject"`
	EffectiveDateTime string                  `json:"effectiveDateTime"`
	EffectiveInstant  string                  `json:"effectiveInstant"`
	EffectivePeriod   *struct{ Start string } `json:"effectivePeriod"`
	DerivedFrom       []reference             `json:"derivedFrom"`
	HasMember         []reference             `json:"hasMember"`
	ValueQuantity     json.RawMessage         `json:"valueQuantity"`
	ValueCodeable     json.RawMessage         `json:"valueCodeableConcept"`
	ValueString       *string                 `json:"valueString"`
	ValueSampledData  json.RawMessage         `json:"valueSampledData"`
	ValueDateTime     string                  `json:"valueDateTime"`
	Component         []json.RawMessage       `json:"component"`
}

// IsUpload reports cheaply whether body may be a PHD upload: a Bundle that
// names a PHD profile, the EUI-64 system id or the IEEE 11073 code system.
// Judge decides the rest.
func IsUpload(body []byte) bool {
	return bytes.Contains(body, []byte(`"Bundle"`)) && (bytes.Contains(body, []byte(profilePrefix)) ||
		bytes.Contains(body, []byte(systemIDSystem)) || bytes.Contains(body, []byte(mdcSystem)))
}

// Judge applies every rule to a PHD upload (a Bundle, FHIR JSON) and
// returns one verdict per rule, in the order of Rules. With defs nil the
// profiles rule is not applied (it does not apply).
func Judge(defs *profile.Definitions, body []byte) []Verdict {
	out := make([]Verdict, len(Rules))
	for i, r := range Rules {
		out[i].Rule = r
	}
	var b bundleJSON
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" {
		out[0].Applies = true
		out[0].fail("Bundle", "the upload is not a FHIR Bundle in JSON")
		return out
	}
	out[0].Applies = true
	if b.Type != "transaction" {
		out[0].fail("Bundle.type", "a PHG uploads a transaction Bundle, so that an upload lands whole or not at all; this one is %q", b.Type)
	}
	res := make([]*resourceJSON, len(b.Entry))
	for i, e := range b.Entry {
		var r resourceJSON
		if json.Unmarshal(e.Resource, &r) == nil && r.ResourceType != "" {
			res[i] = &r
		}
	}
	u := &upload{b: &b, res: res}
	if defs != nil {
		u.profiles(defs, &out[1])
	}
	u.deviceIdentity(&out[2])
	u.deviceReference(&out[3])
	u.effectiveZone(&out[4])
	u.related(&out[5])
	u.conditional(&out[6])
	return out
}

type upload struct {
	b   *bundleJSON
	res []*resourceJSON
}

func at(i int, rest string) string { return fmt.Sprintf("Bundle.entry[%d].%s", i, rest) }

// profileOf is the PHD profile an entry's resource is judged by: the one
// it declares, else the one its content calls for; "" for a resource no
// PHD profile is about.
func profileOf(r *resourceJSON) string {
	for _, p := range r.Meta.Profile {
		if strings.HasPrefix(p, profilePrefix) {
			return strings.SplitN(p, "|", 2)[0]
		}
	}
	switch r.ResourceType {
	case "Device":
		if r.Type != nil && slices.ContainsFunc(r.Type.Coding, func(c coding) bool { return c.System == mdcSystem && c.Code == mdcPHGDeviceType }) {
			return PhgDevice
		}
		return PhdDevice
	case "Patient":
		return PhdPatient
	case "Observation":
		switch {
		case r.Code != nil && slices.ContainsFunc(r.Code.Coding, func(c coding) bool { return c.System == mdcSystem && c.Code == mdcCoincidentTimeStamp }):
			return PhdCoincidentTimeStamp
		case len(r.Component) > 0:
			return PhdCompoundNumeric
		case r.ValueQuantity != nil:
			return PhdNumericObservation
		case r.ValueCodeable != nil:
			return PhdCodedEnumeration
		case r.ValueString != nil:
			return PhdStringEnumeration
		case r.ValueSampledData != nil:
			return PhdRtsaObservation
		}
		return PhdBaseObservation
	}
	return ""
}

func (u *upload) profiles(defs *profile.Definitions, v *Verdict) {
	for i, r := range u.res {
		if r == nil {
			continue
		}
		p := profileOf(r)
		if p == "" {
			continue
		}
		v.Applies = true
		if defs.StructureDefinition(p) == nil {
			v.fail(at(i, "resource.meta.profile"), "%s is not a profile of the PHD guide", p)
			continue
		}
		for _, is := range defs.Validate(u.b.Entry[i].Resource, profile.Options{Profiles: []string{p}, IgnoreMetaProfile: true}) {
			if is.Severity != outcome.ErrorLevel && is.Severity != outcome.Fatal {
				continue
			}
			expr := at(i, "resource")
			if len(is.Expression) > 0 {
				expr = at(i, "resource") + " " + is.Expression[0]
			}
			v.fail(expr, "%s %s: %s", r.ResourceType, shortProfile(p), is.Diagnostics)
		}
	}
}

func shortProfile(p string) string { return strings.TrimPrefix(p, profilePrefix) }

// eui64 is an IEEE EUI-64 as PHD writes a system id: eight octets in hex,
// with or without dashes.
var eui64 = regexp.MustCompile(`^(?:[0-9A-Fa-f]{2}-){7}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{16}$`)

func (u *upload) deviceIdentity(v *Verdict) {
	for i, r := range u.res {
		if r == nil || r.ResourceType != "Device" {
			continue
		}
		v.Applies = true
		found := false
		for _, id := range r.Identifier {
			if id.System != systemIDSystem {
				continue
			}
			found = true
			if !eui64.MatchString(id.Value) {
				v.fail(at(i, "resource.identifier"), "the system id %q is not an EUI-64 (eight octets in hex, e.g. FE-ED-AB-EE-DE-AD-BE-EF)", id.Value)
			}
		}
		if !found {
			v.fail(at(i, "resource.identifier"), "the Device carries no system id: an identifier with system %s (the IEEE EUI-64 of the device)", systemIDSystem)
		}
	}
}

// target is the entry a reference names inside the upload: by fullUrl or
// by type/id; -1 when it names none.
func (u *upload) target(ref string) int {
	for i, e := range u.b.Entry {
		if e.FullURL != "" && e.FullURL == ref {
			return i
		}
		if r := u.res[i]; r != nil && r.ID != "" && r.ResourceType+"/"+r.ID == ref {
			return i
		}
	}
	return -1
}

// local reports whether a reference can only be resolved inside the
// upload (urn:uuid:, urn:oid:).
func local(ref string) bool {
	return strings.HasPrefix(ref, "urn:uuid:") || strings.HasPrefix(ref, "urn:oid:")
}

// refType is the type a reference names when it says one (Type/id,
// Type?criteria, or an absolute URL ending in Type/id).
func refType(ref string) string {
	ref, _, _ = strings.Cut(ref, "?")
	parts := strings.Split(strings.TrimRight(ref, "/"), "/")
	if len(parts) >= 2 && strings.Contains(ref, "/") {
		if parts[len(parts)-2] == "_history" && len(parts) >= 4 {
			return parts[len(parts)-4]
		}
		return parts[len(parts)-2]
	}
	if !strings.Contains(ref, ":") {
		return parts[0] // Type?criteria
	}
	return ""
}

// resolves checks that ref names a resource of one of types: inside the
// upload for a local reference, by its form otherwise.
func (u *upload) resolves(ref string, types ...string) error {
	if ref == "" {
		return fmt.Errorf("the reference is empty")
	}
	if i := u.target(ref); i >= 0 {
		if r := u.res[i]; r == nil || !slices.Contains(types, r.ResourceType) {
			return fmt.Errorf("%s names entry %d, which is not a %s", ref, i, strings.Join(types, " or "))
		}
		return nil
	}
	if local(ref) {
		return fmt.Errorf("%s names no entry of the upload", ref)
	}
	if t := refType(ref); !slices.Contains(types, t) {
		return fmt.Errorf("%s does not name a %s", ref, strings.Join(types, " or "))
	}
	return nil
}

func (u *upload) deviceReference(v *Verdict) {
	for i, r := range u.res {
		if r == nil || r.ResourceType != "Observation" {
			continue
		}
		v.Applies = true
		if r.Device == nil || r.Device.Reference == "" {
			v.fail(at(i, "resource.device"), "the Observation names no device: a PHD measurement references the PhdDevice that made it")
		} else if err := u.resolves(r.Device.Reference, "Device"); err != nil {
			v.fail(at(i, "resource.device"), "device: %v", err)
		}
		if r.Subject == nil || r.Subject.Reference == "" {
			v.fail(at(i, "resource.subject"), "the Observation names no subject: a PHD measurement references its patient")
		} else if err := u.resolves(r.Subject.Reference, "Patient", "Device", "Group", "Location"); err != nil {
			v.fail(at(i, "resource.subject"), "subject: %v", err)
		}
	}
}

// zoned is a dateTime or instant with a time and a zone.
var zoned = regexp.MustCompile(`T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$`)

func (u *upload) effectiveZone(v *Verdict) {
	for i, r := range u.res {
		if r == nil || r.ResourceType != "Observation" {
			continue
		}
		v.Applies = true
		t, expr := r.EffectiveDateTime, "resource.effectiveDateTime"
		switch {
		case t == "" && r.EffectiveInstant != "":
			t, expr = r.EffectiveInstant, "resource.effectiveInstant"
		case t == "" && r.EffectivePeriod != nil:
			t, expr = r.EffectivePeriod.Start, "resource.effectivePeriod.start"
		}
		switch {
		case t == "":
			v.fail(at(i, "resource.effective[x]"), "the Observation says not when it was measured (effective[x])")
		case !zoned.MatchString(t):
			v.fail(at(i, expr), "%q has no time with a zone: a PHG converts the device's time to a time with a UTC offset", t)
		}
	}
}

func (u *upload) related(v *Verdict) {
	for i, r := range u.res {
		if r == nil || r.ResourceType != "Observation" {
			continue
		}
		for k, ref := range r.DerivedFrom {
			v.Applies = true
			if err := u.resolves(ref.Reference, "Observation"); err != nil {
				v.fail(at(i, fmt.Sprintf("resource.derivedFrom[%d]", k)), "derivedFrom: %v", err)
			}
		}
		for k, ref := range r.HasMember {
			v.Applies = true
			if err := u.resolves(ref.Reference, "Observation"); err != nil {
				v.fail(at(i, fmt.Sprintf("resource.hasMember[%d]", k)), "hasMember: %v", err)
			}
		}
	}
}

func (u *upload) conditional(v *Verdict) {
	for i, e := range u.b.Entry {
		r := u.res[i]
		if r == nil || e.Request == nil || profileOf(r) == "" {
			continue
		}
		if profileOf(r) == PhdCoincidentTimeStamp {
			// A gateway reads the device's clock anew for each upload:
			// a Coincident Time Stamp is never a duplicate and is
			// always created, without an identifier.
			continue
		}
		v.Applies = true
		switch e.Request.Method {
		case "POST":
			switch {
			case strings.TrimSpace(e.Request.IfNoneExist) == "":
				v.fail(at(i, "request.ifNoneExist"), "a %s is created without ifNoneExist: a resent upload would make it again", r.ResourceType)
			case len(r.Identifier) == 0:
				v.fail(at(i, "resource.identifier"), "the %s carries no identifier for its conditional create to find it by", r.ResourceType)
			case !namesOwnIdentifier(e.Request.IfNoneExist, r):
				v.fail(at(i, "request.ifNoneExist"), "ifNoneExist %q does not search by the %s's own identifier, so a resend may not find it", e.Request.IfNoneExist, r.ResourceType)
			}
		case "PUT":
			// An update of a named or conditional id is idempotent.
		default:
			v.fail(at(i, "request.method"), "a %s is uploaded with %s, not a conditional create or an update", r.ResourceType, e.Request.Method)
		}
	}
}

// namesOwnIdentifier reports whether a conditional create's criteria
// search by one of the resource's identifiers (identifier=[system|]value).
func namesOwnIdentifier(criteria string, r *resourceJSON) bool {
	q, err := url.ParseQuery(strings.TrimPrefix(criteria, "?"))
	if err != nil {
		return false
	}
	for _, want := range q["identifier"] {
		system, value, hasSystem := strings.Cut(want, "|")
		if !hasSystem {
			system, value = "", want
		}
		for _, id := range r.Identifier {
			if id.Value == value && (!hasSystem || id.System == system) {
				return true
			}
		}
	}
	return false
}
