package vkp

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"hpsandbox/connectors/nin"
	"hpsandbox/connectors/vkp/spec"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
	"hpsandbox/fixtures"
)

// Kind is what a submission reports, judged by the resources its Bundle
// holds.
type Kind string

// The kinds of submission the hub takes.
const (
	Alarm        Kind = "alarm"        // DetectedIssue + Encounter + Composition
	Supervision  Kind = "supervision"  // Encounter (digital) + Composition
	Dispense     Kind = "dispense"     // MedicationDispense, one or more
	Measurements Kind = "measurements" // Observation and QuestionnaireResponse, one or more
)

// systemURI is the identifier system of the resources' own ids (urn:uuid),
// which makes a retried submission update rather than duplicate.
const systemURI = "urn:ietf:rfc:3986"

// Submission is a parsed, judged Bundle: each entry's resource, decoded,
// and the person they are about.
type Submission struct {
	Kind    Kind
	Entries []Entry
	// Person is the national identity number the resources are about,
	// and PersonSystem its identifier system; Display the name a resource
	// gave, if any.
	Person, PersonSystem, Display string
	// Municipality is the receiving municipality's number: a person the
	// sandbox does not know is registered as its resident.
	Municipality fixtures.Municipality
	// Patient is the Patient/id the person is stored as, when Deliver
	// found exactly one; "" leaves finding or registering them to the
	// transaction.
	Patient string
	// found is that Patient as the search before the transaction read it:
	// the answer names it first, as the conditional create it replaced did.
	found *fhirstore.Resource
	// r4 is set by Parse when every resource passed fhirjson.Parse: the
	// transaction built from them is then valid R4 (vouched).
	r4 bool
}

// Entry is one resource of a submission.
type Entry struct {
	Type     string
	FullURL  string
	Resource map[string]any
	Raw      json.RawMessage
}

// Parse reads a submission Bundle and judges it without storing anything:
// its type (transaction or collection; PMD also takes collection only,
// which the caller checks), its resources (one kind of submission, kinds
// says which are taken), the identity numbers (synthetic, nin.Check), the
// guide's codes, each resource against its VKP profile and as FHIR R4
// (fhirjson, google/fhir), and one person named by national identity
// number in every subject. The error is an *outcome.Error naming the
// element.
//
// The body is compacted and split once (fhirjson.SplitBundle); each
// resource is decoded once, and the guard reads those decoded resources
// within the decoded rest of the Bundle rather than decoding the body
// again. A caller that also needs the entries' types reads the body with
// ReadBundle and asks it both.
func Parse(body []byte, allow []string, kinds ...Kind) (*Submission, error) {
	return ReadBundle(body).Parse(allow, kinds...)
}

// Parse judges the Bundle as the package's Parse does.
func (bb *Bundle) Parse(allow []string, kinds ...Kind) (*Submission, error) {
	if len(bytes.TrimSpace(bb.body)) == 0 {
		return nil, outcome.New(outcome.Incorrect, outcome.Structure, "the body is empty: send a Bundle")
	}
	notBundle := outcome.New(outcome.Incorrect, outcome.Structure, "the body is not a JSON object: send a Bundle")
	shell, resources := bb.shell, bb.resources
	if bb.splitErr != nil {
		return nil, notBundle
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			FullURL string `json:"fullUrl"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(shell, &b); err != nil {
		return nil, notBundle
	}
	if b.ResourceType != "Bundle" {
		return nil, outcome.New(outcome.Unprocessable, outcome.Invalid, "the hub takes a Bundle, not %s", describe(b.ResourceType)).At("resourceType")
	}
	if b.Type != "transaction" && b.Type != "collection" {
		return nil, outcome.New(outcome.Unprocessable, outcome.Invalid, "the hub takes a Bundle of type transaction or collection, not %q", clip(b.Type)).At("Bundle.type")
	}
	if len(b.Entry) != len(resources) {
		// encoding/json took the entries from a member whose name differs
		// from "entry" in case only; JSON's names are case-sensitive.
		return nil, outcome.New(outcome.Incorrect, outcome.Structure, "Bundle.entry cannot be read: its name is \"entry\"").At("Bundle.entry")
	}
	if len(b.Entry) == 0 {
		return nil, outcome.New(outcome.Unprocessable, outcome.Required, "the Bundle has no entries").At("Bundle.entry")
	}
	if len(b.Entry) > MaxEntries {
		return nil, outcome.New(outcome.Unprocessable, outcome.TooCostly, "the Bundle has %d entries; the hub takes at most %d", len(b.Entry), MaxEntries).At("Bundle.entry")
	}
	s := &Submission{}
	decoded := bb.decodeAll()
	if err := checkNumbers(shell, decoded, allow); err != nil {
		return nil, err
	}
	for i, v := range decoded {
		m, _ := v.(map[string]any)
		if m == nil {
			return nil, outcome.New(outcome.Unprocessable, outcome.Required, "entry %d has no resource", i).At(fmt.Sprintf("Bundle.entry[%d].resource", i))
		}
		typ, _ := m["resourceType"].(string)
		s.Entries = append(s.Entries, Entry{Type: typ, FullURL: b.Entry[i].FullURL, Resource: m, Raw: resources[i]})
	}
	kind, err := classify(s.Entries)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(kinds, kind) {
		return nil, outcome.New(outcome.Unprocessable, outcome.NotSupported, "this endpoint does not take %s submissions", kind).At("Bundle.entry")
	}
	s.Kind = kind
	defs, err := spec.Definitions()
	if err != nil {
		return nil, err
	}
	var issues []outcome.Issue
	for i, e := range s.Entries {
		at := fmt.Sprintf("Bundle.entry[%d].resource", i)
		if err := s.person(e, at); err != nil {
			return nil, err
		}
		issues = append(issues, CodeIssues(e.Resource, at+"."+e.Type)...)
	}
	if len(issues) > 0 {
		return nil, &outcome.Error{Category: outcome.Unprocessable, Issues: issues}
	}
	for i, e := range s.Entries {
		at := fmt.Sprintf("Bundle.entry[%d].resource.", i)
		for _, is := range defs.Validate(e.Raw, profile.Options{Profiles: []string{ProfileOf(kind, e)}}) {
			if is.Severity != outcome.ErrorLevel && is.Severity != outcome.Fatal {
				continue
			}
			is.Issue.Expression = prefixed(at, is.Issue.Expression)
			issues = append(issues, is.Issue)
		}
	}
	if len(issues) > 0 {
		return nil, &outcome.Error{Category: outcome.Unprocessable, Issues: issues}
	}
	if err := s.checkR4(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkNumbers runs the test-data guard (nin) over the whole Bundle: the
// shell with each entry's decoded resource (whatever its shape) put back
// in its place, the same document nin.Check would decode from the body.
func checkNumbers(shell []byte, resources []any, allow []string) error {
	doc, ok := decode(shell).(map[string]any) // compacted by SplitBundle
	if !ok {
		return outcome.New(outcome.Incorrect, outcome.Structure, "the body is not a JSON object: send a Bundle")
	}
	entries, _ := doc["entry"].([]any)
	for i, r := range resources {
		if i >= len(entries) {
			break
		}
		if e, ok := entries[i].(map[string]any); ok && r != nil {
			e["resource"] = r
		}
	}
	if err := nin.CheckValue(doc, allow); err != nil {
		return err.Wrap(ErrNotSynthetic)
	}
	return nil
}

// checkR4 validates each entry's resource as FHIR R4 (fhirjson.Parse:
// google/fhir's parse and extended validation, reference checks), the
// judgement the engine would otherwise make of the transaction, naming
// the element below its entry. r4 records that every one passed.
func (s *Submission) checkR4() error {
	for i, e := range s.Entries {
		if _, err := fhirjson.Parse(e.Raw); err != nil {
			oe := outcome.From(err)
			c := *oe
			c.Issues = make([]outcome.Issue, len(oe.Issues))
			for j, is := range oe.Issues {
				is.Expression = prefixed(fmt.Sprintf("Bundle.entry[%d].resource.", i), is.Expression)
				c.Issues[j] = is
			}
			return c.Wrap(err)
		}
	}
	s.r4 = true
	return nil
}

// MaxEntries bounds the entries of one submission.
const MaxEntries = 100

// classify names the kind of submission the entries' resource types make,
// or refuses the entry that fits none.
func classify(entries []Entry) (Kind, error) {
	count := map[string]int{}
	for _, e := range entries {
		count[e.Type]++
	}
	only := func(types ...string) bool {
		n := 0
		for _, t := range types {
			n += count[t]
		}
		return n == len(entries)
	}
	switch {
	case count["DetectedIssue"] == 1 && count["Encounter"] == 1 && count["Composition"] == 1 && len(entries) == 3:
		return Alarm, nil
	case count["Encounter"] == 1 && count["Composition"] == 1 && len(entries) == 2:
		return Supervision, nil
	case only("MedicationDispense"):
		return Dispense, nil
	case only("Observation", "QuestionnaireResponse"):
		return Measurements, nil
	}
	// Name the first entry that no kind around the first entry takes.
	allowed := map[string][]string{
		"DetectedIssue": {"DetectedIssue", "Encounter", "Composition"}, "Encounter": {"DetectedIssue", "Encounter", "Composition"},
		"Composition": {"DetectedIssue", "Encounter", "Composition"}, "MedicationDispense": {"MedicationDispense"},
		"Observation": {"Observation", "QuestionnaireResponse"}, "QuestionnaireResponse": {"Observation", "QuestionnaireResponse"},
	}[entries[0].Type]
	for i, e := range entries {
		if !slices.Contains(allowed, e.Type) {
			return "", outcome.New(outcome.Unprocessable, outcome.Invalid,
				"the hub does not take %s in this submission: an alarm is DetectedIssue + Encounter + Composition, a supervision Encounter + Composition, a dispenser event MedicationDispense, measurements Observation and QuestionnaireResponse",
				describe(e.Type)).At(fmt.Sprintf("Bundle.entry[%d].resource", i))
		}
	}
	return "", outcome.New(outcome.Unprocessable, outcome.Invalid,
		"the Bundle's resources make no submission: an alarm is one DetectedIssue, one Encounter and one Composition; a supervision one Encounter and one Composition").At("Bundle.entry")
}

// ProfileOf is the VKP profile an entry of a kind of submission must
// conform to.
func ProfileOf(kind Kind, e Entry) string {
	switch e.Type {
	case "DetectedIssue":
		return spec.DetectedIssue
	case "Encounter":
		if kind == Supervision {
			return spec.DigitalEncounter
		}
		return spec.Encounter
	case "Composition":
		return CompositionProfile
	case "MedicationDispense":
		return spec.MedicationDispense
	case "QuestionnaireResponse":
		return QuestionnaireResponseProfile
	}
	loinc := map[string]string{"85354-9": spec.BloodPressure, "8310-5": spec.BodyTemperature, "29463-7": spec.BodyWeight,
		"8867-4": spec.HeartRate, "2708-6": spec.OxygenSaturation, "59408-5": spec.OxygenSaturation}
	code, _ := e.Resource["code"].(map[string]any)
	codings, _ := code["coding"].([]any)
	for _, c := range codings {
		c, _ := c.(map[string]any)
		if c["system"] == "http://loinc.org" {
			if p, ok := loinc[fmt.Sprint(c["code"])]; ok {
				return p
			}
		}
	}
	return spec.Observation
}

// subjectKey is the element naming the person of a resource type.
func subjectKey(typ string) string {
	if typ == "DetectedIssue" {
		return "patient"
	}
	return "subject"
}

// person checks that e names its person by national identity number, the
// same one as the other entries.
func (s *Submission) person(e Entry, at string) error {
	key := subjectKey(e.Type)
	at += "." + key
	subj, _ := e.Resource[key].(map[string]any)
	id, _ := subj["identifier"].(map[string]any)
	sys, _ := id["system"].(string)
	val, _ := id["value"].(string)
	switch {
	case subj == nil:
		return outcome.New(outcome.Unprocessable, outcome.Required, "%s names no person: the hub needs %s.identifier with the national identity number", describe(e.Type), key).At(at)
	case val == "" || (sys != nin.SystemFNR && sys != nin.SystemDNR):
		return outcome.New(outcome.Unprocessable, outcome.Required,
			"%s does not name its person by national identity number: %s.identifier needs system %s (or %s for a D-number) and a value",
			describe(e.Type), key, nin.SystemFNR, nin.SystemDNR).At(at + ".identifier")
	case s.Person == "":
		s.Person, s.PersonSystem = val, sys
	case s.Person != val || s.PersonSystem != sys:
		return outcome.New(outcome.Unprocessable, outcome.BusinessRule, "the entries of one submission are about one person; this one names another").At(at + ".identifier")
	}
	if d, ok := subj["display"].(string); ok && s.Display == "" {
		s.Display = d
	}
	return nil
}

// IDOf is the resource id that a resource's own identifier (a urn:uuid, or
// another URI) makes when connector tag stores it: the tag, a hyphen and
// the UUID, lower-case, or for another URI the tag, "-h-" and 40 hex
// digits of its SHA-256. Ids are per type and UUIDs do not collide, so a
// resource keeps its id across retries and events; the tag keeps the ids
// of what a connector stores apart from those any other writer chose.
func IDOf(tag, own string) string {
	if u, ok := strings.CutPrefix(own, "urn:uuid:"); ok && isUUID(u) {
		return tag + "-" + strings.ToLower(u)
	}
	sum := sha256.Sum256([]byte(own))
	return tag + "-h-" + hex.EncodeToString(sum[:20])
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F'):
			return false
		}
	}
	return true
}

// TagSystem tags the Patients a connector registers.
const TagSystem = "http://hpsandbox.no/fhir/CodeSystem/connector"

// ownIdentifier is the resource's urn:uuid identifier (system
// urn:ietf:rfc:3986), or "".
func ownIdentifier(r map[string]any) string {
	ids, _ := r["identifier"].([]any)
	if id, ok := r["identifier"].(map[string]any); ok {
		ids = []any{id} // DetectedIssue and Composition have one identifier
	}
	for _, id := range ids {
		id, _ := id.(map[string]any)
		if v, _ := id["value"].(string); id["system"] == systemURI && v != "" {
			return v
		}
	}
	return ""
}

// prefixed puts at before each expression.
func prefixed(at string, exprs []string) []string {
	if len(exprs) == 0 {
		return []string{strings.TrimSuffix(at, ".")}
	}
	out := make([]string, len(exprs))
	for i, x := range exprs {
		out[i] = at + x
	}
	return out
}

func describe(typ string) string {
	if typ == "" {
		return "a body without a resourceType"
	}
	return outcome.Article(clip(typ))
}

// issueList is the expressions of an error's issues, for a log line.
func issueList(err *outcome.Error) string {
	var xs []string
	for _, is := range err.Issues {
		xs = append(xs, is.Expression...)
	}
	return strings.Join(xs, ", ")
}
