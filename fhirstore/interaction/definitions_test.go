package interaction_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

const (
	otherSandbox fhirstore.Sandbox = "other"
	birthProfile                   = "http://example.org/fhir/StructureDefinition/patient-born"
	genderVS                       = "http://example.org/fhir/ValueSet/two-genders"
)

// bornProfile is a StructureDefinition that makes Patient.birthDate
// required (min 1) or leaves it optional (min 0).
func bornProfile(min string) string {
	return `{"resourceType":"StructureDefinition","id":"patient-born","url":"` + birthProfile + `","name":"PatientBorn",` +
		`"status":"active","kind":"resource","abstract":false,"type":"Patient",` +
		`"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",` +
		`"differential":{"element":[{"id":"Patient.birthDate","path":"Patient.birthDate","min":` + min + `}]}}`
}

const unborn = `{"resourceType":"Patient","id":"u1","gender":"other"}`

// verdict runs $validate of body against profiles in sandbox and reports
// whether it found errors, and the outcome's text.
func (f *fixture) verdict(sandbox fhirstore.Sandbox, body string, profiles ...string) (bool, string) {
	f.t.Helper()
	issues, err := f.eng.Validate(f.ctx, &interaction.ValidateRequest{Sandbox: sandbox, Type: "Patient", Body: []byte(body), Profiles: profiles})
	if err != nil {
		f.t.Fatal(err)
	}
	bad := false
	for _, is := range issues {
		bad = bad || is.Severity == outcome.ErrorLevel || is.Severity == outcome.Fatal
	}
	return bad, string(outcome.JSON(issues))
}

// A StructureDefinition written into a sandbox is a definition there:
// $validate?profile= uses it in that sandbox, another sandbox does not
// know it, a changed one changes the verdict and a deleted one is unknown
// again.
func TestValidate_SandboxDefinitions_FollowWritesOfTheSandbox(t *testing.T) {
	f := newFixture(t)
	if bad, text := f.verdict(sb, unborn, birthProfile); !bad || !strings.Contains(text, birthProfile) {
		t.Fatalf("a profile not yet written was not reported unknown: %s", text)
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Update, Type: "StructureDefinition", ID: "patient-born", Body: []byte(bornProfile("1"))}); err != nil {
		t.Fatal(err)
	}
	if bad, text := f.verdict(sb, unborn, birthProfile); !bad || !strings.Contains(text, "Patient.birthDate") {
		t.Errorf("the written profile was not applied: %s", text)
	}
	if bad, text := f.verdict(sb, `{"resourceType":"Patient","birthDate":"1970-01-01"}`, birthProfile); bad {
		t.Errorf("a conforming Patient failed: %s", text)
	}
	if bad, text := f.verdict(otherSandbox, unborn, birthProfile); !bad || strings.Contains(text, "Patient.birthDate") {
		t.Errorf("another sandbox used the profile: %s", text)
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Update, Type: "StructureDefinition", ID: "patient-born", Body: []byte(bornProfile("0"))}); err != nil {
		t.Fatal(err)
	}
	if bad, text := f.verdict(sb, unborn, birthProfile); bad {
		t.Errorf("the changed profile was not recompiled: %s", text)
	}
	if _, err := f.write(interaction.Write{Kind: interaction.Delete, Type: "StructureDefinition", ID: "patient-born"}); err != nil {
		t.Fatal(err)
	}
	if bad, text := f.verdict(sb, unborn, birthProfile); !bad || !strings.Contains(text, birthProfile) {
		t.Errorf("the deleted profile is still known: %s", text)
	}
}

// An implementation guide's conformance resources loaded by a transaction
// are definitions of the sandbox: a profile binding an element to a value
// set of the same Bundle judges codes by it.
func TestValidate_SandboxDefinitions_LoadedByTransaction(t *testing.T) {
	f := newFixture(t)
	profile := `{"resourceType":"StructureDefinition","url":"` + birthProfile + `","name":"PatientBorn",` +
		`"status":"active","kind":"resource","abstract":false,"type":"Patient",` +
		`"baseDefinition":"http://hl7.org/fhir/StructureDefinition/Patient","derivation":"constraint",` +
		`"differential":{"element":[{"id":"Patient.gender","path":"Patient.gender","min":1,` +
		`"binding":{"strength":"required","valueSet":"` + genderVS + `"}}]}}`
	valueSet := `{"resourceType":"ValueSet","url":"` + genderVS + `","status":"active",` +
		`"compose":{"include":[{"system":"http://hl7.org/fhir/administrative-gender","concept":[{"code":"male"},{"code":"female"}]}]}}`
	ig := `{"resourceType":"Bundle","type":"transaction","entry":[` +
		`{"resource":` + profile + `,"request":{"method":"POST","url":"StructureDefinition"}},` +
		`{"resource":` + valueSet + `,"request":{"method":"POST","url":"ValueSet"}}]}`
	// A verdict before the load fills the cache, which the load must empty.
	if bad, _ := f.verdict(sb, unborn, birthProfile); !bad {
		t.Fatal("the profile was known before the transaction")
	}
	if _, err := f.bundle(ig, false); err != nil {
		t.Fatal(err)
	}
	if bad, text := f.verdict(sb, unborn, birthProfile); !bad || !strings.Contains(text, "Patient.gender") {
		t.Errorf("gender other passed the Bundle's value set: %s", text)
	}
	if bad, text := f.verdict(sb, `{"resourceType":"Patient","gender":"female"}`, birthProfile); bad {
		t.Errorf("gender female failed: %s", text)
	}
}

// Every page of a sandbox's conformance resources is read.
func TestValidate_SandboxDefinitions_ReadsEveryPage(t *testing.T) {
	f := newFixture(t)
	for i := range 250 {
		vs := `{"resourceType":"ValueSet","id":"vs` + strconv.Itoa(i) + `","url":"http://example.org/fhir/ValueSet/vs` + strconv.Itoa(i) + `","status":"active"}`
		f.put(vs)
	}
	f.put(strings.Replace(bornProfile("1"), `"id":"patient-born"`, `"id":"zz-last"`, 1))
	if bad, text := f.verdict(sb, unborn, birthProfile); !bad || !strings.Contains(text, "Patient.birthDate") {
		t.Errorf("the profile stored after 250 value sets was not read: %s", text)
	}
}

// Validations and writes of definitions in parallel share one cache
// safely (run with -race), and the last write is what counts.
func TestValidate_SandboxDefinitions_ConcurrentWrites(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				if g == 0 {
					min := strconv.Itoa(i % 2)
					if _, err := f.write(interaction.Write{Kind: interaction.Update, Type: "StructureDefinition", ID: "patient-born", Body: []byte(bornProfile(min))}); err != nil {
						t.Error(err)
					}
					continue
				}
				if _, err := f.eng.Validate(f.ctx, &interaction.ValidateRequest{Sandbox: sb, Type: "Patient", Body: []byte(unborn), Profiles: []string{birthProfile}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// The last version written makes birthDate optional (min 0).
	if bad, text := f.verdict(sb, unborn, birthProfile); bad {
		t.Errorf("the last version written is not in force: %s", text)
	}
}
