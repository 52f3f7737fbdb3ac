package spec

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
)

// examples are the resources a hub sends, one per kind, written for these
// tests (testdata/valid), with the VKP profile each must conform to.
var examples = []struct {
	file, profile string
}{
	{"alarm.json", Encounter},
	{"supervision.json", DigitalEncounter},
	{"dispense.json", MedicationDispense},
	{"detectedissue.json", DetectedIssue},
	{"heartrate.json", HeartRate},
	{"bloodpressure.json", BloodPressure},
	{"oxygensat.json", OxygenSaturation},
	{"bodytemp.json", BodyTemperature},
	{"bodyweight.json", BodyWeight},
}

func definitions(t *testing.T) *profile.Definitions {
	t.Helper()
	d, err := Definitions()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func validate(t *testing.T, d *profile.Definitions, file, url string) []profile.Issue {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return d.Validate(raw, profile.Options{Profiles: []string{url}})
}

func dump(issues []profile.Issue) string {
	var b strings.Builder
	for _, is := range issues {
		b.WriteString("  " + string(is.Severity) + " [" + is.Rule + "] " + strings.Join(is.Expression, ",") + ": " + is.Diagnostics + "\n")
	}
	return b.String()
}

func TestDefinitions_HoldTheVKPProfiles(t *testing.T) {
	d := definitions(t)
	for _, url := range []string{Encounter, DigitalEncounter, MedicationDispense, DetectedIssue, Observation,
		BloodPressure, BodyTemperature, BodyWeight, HeartRate, OxygenSaturation} {
		if d.StructureDefinition(url) == nil {
			t.Errorf("%s: missing", url)
		}
	}
	if again, _ := Definitions(); again != d {
		t.Error("Definitions built the set twice")
	}
}

func TestResources_AreTheGuidesConformanceResources(t *testing.T) {
	kinds := map[string]int{}
	for _, r := range Resources() {
		var head struct{ ResourceType, URL string }
		if err := json.Unmarshal(r, &head); err != nil || head.URL == "" {
			t.Fatalf("not a conformance resource (%v): %.80s", err, r)
		}
		kinds[head.ResourceType]++
	}
	if want := map[string]int{"StructureDefinition": 35, "CodeSystem": 13, "ValueSet": 12}; !maps.Equal(kinds, want) {
		t.Errorf("resources by type: %v, want %v (see SOURCE.md)", kinds, want)
	}
}

func TestExamples_ConformToTheirVKPProfile(t *testing.T) {
	d := definitions(t)
	for _, ex := range examples {
		t.Run(ex.file, func(t *testing.T) {
			issues := validate(t, d, filepath.Join("valid", ex.file), ex.profile)
			if profile.HasErrors(issues) {
				t.Errorf("errors against %s:\n%s", ex.profile, dump(issues))
			}
			if testing.Verbose() {
				t.Logf("issues:\n%s", dump(issues))
			}
		})
	}
}

// TestBrokenVariants_FailOnTheRuleTheyBreak: each file of testdata/broken is
// an example of testdata/valid with one element broken; it must fail with an
// error naming the rule (invariant key, slice name or engine rule) and the
// element.
func TestBrokenVariants_FailOnTheRuleTheyBreak(t *testing.T) {
	d := definitions(t)
	for _, tt := range broken {
		t.Run(tt.file, func(t *testing.T) {
			issues := validate(t, d, filepath.Join("broken", tt.file), tt.profile)
			for _, is := range issues {
				if is.Severity == outcome.ErrorLevel && is.Rule == tt.rule && len(is.Expression) > 0 && is.Expression[0] == tt.expr {
					return
				}
			}
			t.Errorf("want an error [%s] at %s against %s, got:\n%s", tt.rule, tt.expr, tt.profile, dump(issues))
		})
	}
}

// broken are the variants of testdata/broken with the rule each breaks and
// the element it names.
var broken = []struct {
	file, profile, rule, expr string
}{
	// Missing required elements.
	{"alarm-no-period.json", Encounter, "cardinality", "Encounter"},
	{"supervision-no-participant.json", DigitalEncounter, "cardinality", "Encounter"},
	{"alarm-device-without-displayname.json", Encounter, "displayName", "Encounter.extension[0].extension"},
	{"dispense-device-without-type.json", MedicationDispense, "type", "MedicationDispense.extension[0].extension"},
	{"heartrate-no-loinc-code.json", HeartRate, "HeartRateCode", "Observation.code.coding"},
	{"detectedissue-no-patient.json", DetectedIssue, "cardinality", "DetectedIssue"},
	// Codes outside a required binding.
	{"alarm-reason-not-in-valueset.json", Encounter, "binding", "Encounter.reasonCode[0]"},
	{"dispense-category-not-in-valueset.json", MedicationDispense, "binding", "MedicationDispense.category"},
	{"detectedissue-code-not-in-valueset.json", DetectedIssue, "binding", "DetectedIssue.code"},
	// A missing component slice.
	{"bloodpressure-no-diastolic.json", BloodPressure, "DiastolicBP", "Observation.component"},
	// Wrong units.
	{"heartrate-wrong-unit.json", HeartRate, "fixed", "Observation.valueQuantity.code"},
	{"oxygensat-wrong-unit.json", OxygenSaturation, "fixed", "Observation.valueQuantity.code"},
	{"bodytemp-wrong-unit.json", BodyTemperature, "binding", "Observation.valueQuantity.code"},
	{"bodyweight-wrong-unit.json", BodyWeight, "binding", "Observation.valueQuantity.code"},
	// Wrong fixed values, closed slices, forbidden elements.
	{"supervision-class-not-virtual.json", DigitalEncounter, "fixed", "Encounter.class.code"},
	{"alarm-identifier-system-not-fixed.json", Encounter, "fixed", "Encounter.identifier[0].system"},
	{"dispense-subject-not-a-national-id.json", MedicationDispense, "slicing", "MedicationDispense.subject.identifier"},
	{"dispense-performer-by-reference.json", MedicationDispense, "cardinality", "MedicationDispense.performer[0].actor.reference"},
	// Broken invariants.
	{"alarm-period-ends-before-start.json", Encounter, "per-1", "Encounter.period"},
	{"heartrate-no-value.json", HeartRate, "vs-2", "Observation"},
}

// TestBrokenVariants_AllListed: every file of testdata/broken has the rule
// it must fail on, so that none is kept without being judged.
func TestBrokenVariants_AllListed(t *testing.T) {
	files, err := filepath.Glob("testdata/broken/*.json")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, b := range broken {
		listed[b.file] = true
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s: not in the table of broken variants", f)
		}
	}
	if len(files) != len(listed) {
		t.Errorf("%d files in testdata/broken, %d listed", len(files), len(listed))
	}
}
