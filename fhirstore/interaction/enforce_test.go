package interaction_test

import (
	"context"
	"strings"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

const heartRateProfile = "http://hl7.org/fhir/StructureDefinition/heartrate"

// heartRate is an Observation of a heart rate in the unit the core
// vital-signs profile requires (unit "/min"), or another.
func heartRate(id, unit string, declared ...string) string {
	meta := ""
	if len(declared) > 0 {
		meta = `"meta":{"profile":["` + strings.Join(declared, `","`) + `"]},`
	}
	idField := ""
	if id != "" {
		idField = `"id":"` + id + `",`
	}
	return `{"resourceType":"Observation",` + idField + meta + `"status":"final",` +
		`"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],` +
		`"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/p1"},` +
		`"effectiveDateTime":"2026-11-02T10:00:00+01:00",` +
		`"valueQuantity":{"value":72,"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"` + unit + `"}}`
}

// enforcing returns a fixture whose sandbox sb enforces policy; every
// other sandbox enforces nothing.
func enforcing(t *testing.T, policy interaction.Enforcement) *fixture {
	return newFixtureWith(t, interaction.Config{BaseURL: base, Enforcement: func(_ context.Context, s fhirstore.Sandbox) (interaction.Enforcement, error) {
		if s == sb {
			return policy, nil
		}
		return interaction.Enforcement{}, nil
	}})
}

// refused checks that err is a 422 whose outcome names want, and that
// nothing of typ was written.
func (f *fixture) refused(err error, typ, want string) {
	f.t.Helper()
	if category(err) != outcome.Unprocessable {
		f.t.Fatalf("got %v, want a refusal as unprocessable", err)
	}
	if text := string(outcome.From(err).JSON()); !strings.Contains(text, want) {
		f.t.Errorf("the outcome lacks %q: %s", want, text)
	}
	if n := f.count(typ, "_count=1"); n != 0 {
		f.t.Errorf("%d %s written", n, typ)
	}
}

// With declared profiles enforced, a resource that does not conform to
// the profile its meta.profile names is refused (422, the validator's
// outcome) by create, update and conditional update; one that conforms,
// or declares nothing, is written.
func TestWrite_EnforcedDeclaredProfile_RefusesNonConforming(t *testing.T) {
	f := enforcing(t, interaction.Enforcement{Declared: true})
	bad := heartRate("", "kg", heartRateProfile)
	writes := map[string]interaction.Write{
		"create":             {Kind: interaction.Create, Type: "Observation", Body: []byte(bad)},
		"conditional create": {Kind: interaction.Create, Type: "Observation", Body: []byte(bad), IfNoneExist: "code=8867-4"},
		"update":             {Kind: interaction.Update, Type: "Observation", ID: "o1", Body: []byte(heartRate("o1", "kg", heartRateProfile))},
		"conditional update": {Kind: interaction.ConditionalUpdate, Type: "Observation", Criteria: "code=8867-4", Body: []byte(bad)},
	}
	for name, w := range writes {
		t.Run(name, func(t *testing.T) {
			_, err := f.write(w)
			f.refused(err, "Observation", "Observation.value")
		})
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(heartRate("", "/min", heartRateProfile))}); err != nil {
		t.Errorf("a conforming heart rate was refused: %v", err)
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(heartRate("", "kg"))}); err != nil {
		t.Errorf("a resource declaring no profile was refused: %v", err)
	}
	// Another sandbox enforces nothing.
	if _, err := f.eng.Write(f.ctx, &interaction.Write{Kind: interaction.Create, Sandbox: otherSandbox, Body: []byte(bad)}); err != nil {
		t.Errorf("a sandbox without enforcement refused: %v", err)
	}
}

// A profile the resource declares but the sandbox does not know cannot be
// judged, and the write is refused saying so.
func TestWrite_EnforcedDeclaredProfile_UnknownProfileIsRefused(t *testing.T) {
	f := enforcing(t, interaction.Enforcement{Declared: true})
	_, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(heartRate("", "/min", birthProfile))})
	f.refused(err, "Observation", birthProfile)
}

// Required profiles apply to every resource of their type, whatever it
// declares; without Declared, declared profiles are not judged.
func TestWrite_RequiredProfiles_ApplyToTheirType(t *testing.T) {
	f := enforcing(t, interaction.Enforcement{Required: map[string][]string{"Patient": {birthProfile}}})
	f.put(bornProfile("1"))
	_, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(unborn)})
	f.refused(err, "Patient", "Patient.birthDate")
	if _, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(`{"resourceType":"Patient","birthDate":"1970-01-01"}`)}); err != nil {
		t.Errorf("a conforming Patient was refused: %v", err)
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(heartRate("", "kg", heartRateProfile))}); err != nil {
		t.Errorf("a declared profile was enforced without Declared: %v", err)
	}
}

// A patch whose result does not conform is refused and the resource keeps
// its version.
func TestPatch_EnforcedProfile_RefusesNonConformingResult(t *testing.T) {
	f := enforcing(t, interaction.Enforcement{Declared: true})
	f.put(heartRate("o1", "/min", heartRateProfile))
	patch := `[{"op":"replace","path":"/valueQuantity/code","value":"kg"}]`
	_, err := f.write(interaction.Write{Kind: interaction.Patch, Type: "Observation", ID: "o1", Body: []byte(patch), Patch: interaction.JSONPatch})
	if category(err) != outcome.Unprocessable {
		t.Fatalf("got %v, want unprocessable", err)
	}
	if v, _ := f.read("Observation", "o1"); v == nil || v.Version != 1 {
		t.Errorf("the resource changed: %+v", v)
	}
}

// In a transaction, an entry that does not conform fails the whole
// transaction (422, its outcome naming the entry) and nothing is written;
// in a batch it fails alone.
func TestBundle_EnforcedProfile_RefusesNonConformingEntry(t *testing.T) {
	f := enforcing(t, interaction.Enforcement{Declared: true})
	entries := `[{"fullUrl":"urn:uuid:0c3b2a8e-0000-4000-8000-000000000001","resource":` + heartRate("", "/min", heartRateProfile) + `,"request":{"method":"POST","url":"Observation"}},` +
		`{"resource":` + heartRate("", "kg", heartRateProfile) + `,"request":{"method":"POST","url":"Observation"}}]`
	_, err := f.bundle(`{"resourceType":"Bundle","type":"transaction","entry":`+entries+`}`, false)
	f.refused(err, "Observation", "Bundle.entry[1]")

	b, err := f.bundle(`{"resourceType":"Bundle","type":"batch","entry":`+entries+`}`, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Entry[0].Response.Status + " | " + b.Entry[1].Response.Status; got != "201 Created | 422 Unprocessable Entity" {
		t.Errorf("batch statuses %s", got)
	}
	if n := f.count("Observation", "_count=10"); n != 1 {
		t.Errorf("%d Observations written, want 1", n)
	}
}

// Profiles a transaction loads are in force for the next writes: loading
// an IG and then writing data that breaks it is refused.
func TestWrite_EnforcedProfile_UsesDefinitionsWrittenBefore(t *testing.T) {
	f := enforcing(t, interaction.Enforcement{Required: map[string][]string{"Patient": {birthProfile}}})
	_, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(unborn)})
	f.refused(err, "Patient", birthProfile)
	if _, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(bornProfile("0"))}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Create, Body: []byte(unborn)}); err != nil {
		t.Errorf("the profile written was not used: %v", err)
	}
}
