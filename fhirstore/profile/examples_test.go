package profile

//go:generate go run ./internal/genexamples -out testdata/r4-examples

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// examplesErrata are the official R4 examples (npm hl7.fhir.r4.examples
// 4.0.1) that break a rule of the specification themselves, with the rule.
// Every other example must validate without errors against its base
// definition and the profiles it declares; one listed here that validates
// must leave the list.
var examplesErrata = map[string]string{
	// Examples of resources (testdata/r4-examples).
	"ActivityDefinition-blood-tubes-supply.json":        "txt-2: its narrative div holds only whitespace",
	"ActivityDefinition-heart-valve-replacement.json":   "txt-2: its narrative div holds only whitespace",
	"EventDefinition-example.json":                      "txt-2: its narrative div holds only whitespace",
	"Questionnaire-zika-virus-exposure-assessment.json": "txt-2: its narrative div holds only whitespace",
	"Questionnaire-qs1.json":                            "Questionnaire.item.linkId (1..1) is missing on 32 nested items",
	"CapabilityStatement-knowledge-repository.json":     "searchParam version is stated as string; the core SearchParameters *-version are token",
	"CapabilityStatement-measure-processor.json":        "searchParam version is stated as string; the core SearchParameter Measure-version is token",
	"CapabilityStatement-terminology-server.json":       "searchParam reference, source and target are stated with types other than their core SearchParameters' (uri, reference)",
	"DeviceMetric-example.json":                         "DeviceMetric.parent refers to a DeviceDefinition; R4 allows Device only",
	"DeviceUseStatement-example.json":                   "DeviceUseStatement.reasonReference refers to a Procedure, which R4 does not allow",
	"MedicationRequest-medrx0301.json":                  "MedicationRequest.dispenseRequest.performer refers to a Practitioner; R4 allows Organization only",
	"Observation-clinical-gender.json":                  "Observation.performer refers to an Encounter, which R4 does not allow",
	"OrganizationAffiliation-orgrole1.json":             "OrganizationAffiliation.network refers to a Network (a profile name of an IG, not an R4 resource type); R4 allows Organization",
	"Observation-example-genetics-brcapat.json":         "uses the US Core ethnicity extension, which is not an R4 core definition",

	// The specification's definitions (only with HPS_R4_EXAMPLES).
	"StructureDefinition-Definition.json":                                                      "sdf-4: a logical model (the Definition pattern) that is not abstract and has no baseDefinition",
	"StructureDefinition-Event.json":                                                           "sdf-4: a logical model (the Event pattern) that is not abstract and has no baseDefinition",
	"StructureDefinition-FiveWs.json":                                                          "sdf-4: a logical model (the W5 pattern) that is not abstract and has no baseDefinition",
	"StructureDefinition-Request.json":                                                         "sdf-4: a logical model (the Request pattern) that is not abstract and has no baseDefinition",
	"SearchParameter-codesystem-extensions-CodeSystem-author.json":                             "SearchParameter.base (1..1) is missing",
	"SearchParameter-codesystem-extensions-CodeSystem-effective.json":                          "SearchParameter.base (1..1) is missing",
	"SearchParameter-codesystem-extensions-CodeSystem-end.json":                                "SearchParameter.base (1..1) is missing",
	"SearchParameter-codesystem-extensions-CodeSystem-keyword.json":                            "SearchParameter.base (1..1) is missing",
	"SearchParameter-codesystem-extensions-CodeSystem-workflow.json":                           "SearchParameter.base (1..1) is missing",
	"SearchParameter-valueset-extensions-ValueSet-author.json":                                 "SearchParameter.base (1..1) is missing",
	"SearchParameter-valueset-extensions-ValueSet-effective.json":                              "SearchParameter.base (1..1) is missing",
	"SearchParameter-valueset-extensions-ValueSet-end.json":                                    "SearchParameter.base (1..1) is missing",
	"SearchParameter-valueset-extensions-ValueSet-keyword.json":                                "SearchParameter.base (1..1) is missing",
	"SearchParameter-valueset-extensions-ValueSet-workflow.json":                               "SearchParameter.base (1..1) is missing",
	"SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json": "its id has 67 characters; an id has at most 64",
}

// v3Narratives are the HL7 v3 code systems and value sets whose generated
// narrative links to #CODE while naming its anchors v3-System-CODE.
var v3Narratives = []string{"ActCode", "ActReason", "ActRelationshipType", "CalendarCycle", "ContextControl", "EntityCode",
	"EntityNamePartQualifier", "NullFlavor", "ObservationInterpretation", "RoleCode", "RouteOfAdministration", "hl7Realm", "orderableDrugForm"}

func init() {
	for _, n := range v3Narratives {
		for _, typ := range []string{"CodeSystem", "ValueSet"} {
			examplesErrata[typ+"-v3-"+n+".json"] = "its narrative links to anchors it does not have (#CODE, named v3-" + n + "-CODE)"
		}
	}
}

// maxExampleBytes leaves out, in a run on the whole package, the
// specification's Bundles of definitions and its ImplementationGuide,
// whose resources are also in the package one by one.
const maxExampleBytes = 2 << 20

// TestR4Examples validates the official R4 examples against their base
// definitions and declared profiles: the examples of resources kept in
// testdata/r4-examples (see internal/genexamples), or every file of the
// package when HPS_R4_EXAMPLES names its unpacked folder.
func TestR4Examples(t *testing.T) {
	if testing.Short() {
		t.Skip("validates some 700 examples")
	}
	examples := loadExamples(t)
	names := make([]string, 0, len(examples))
	for n := range examples {
		names = append(names, n)
	}
	slices.Sort(names)
	failed := make([]string, len(names))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if issues := Core().Validate(examples[names[i]], Options{}); HasErrors(issues) {
					failed[i] = dump(errorsOnly(issues))
				}
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	bad := 0
	for i, n := range names {
		reason, known := examplesErrata[n]
		switch {
		case failed[i] != "" && !known:
			t.Errorf("%s has errors:\n%s", n, failed[i])
		case failed[i] == "" && known:
			t.Errorf("%s validates; take it off examplesErrata (%s)", n, reason)
		}
		if failed[i] != "" {
			bad++
		}
	}
	t.Logf("%d examples, %d with errors, each a known error of the example", len(names), bad)
}

func errorsOnly(issues []Issue) []Issue {
	var out []Issue
	for _, is := range issues {
		if is.Severity == "error" || is.Severity == "fatal" {
			out = append(out, is)
		}
	}
	return out
}

// loadExamples returns the examples by file name.
func loadExamples(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	if dir := os.Getenv("HPS_R4_EXAMPLES"); dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("HPS_R4_EXAMPLES=%s holds no *.json; name the unpacked package/ folder of hl7.fhir.r4.examples 4.0.1", dir)
		}
		for _, f := range files {
			if st, err := os.Stat(f); err != nil || st.Size() > maxExampleBytes || filepath.Base(f) == "package.json" {
				continue
			}
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(f)] = raw
		}
		return out
	}
	f, err := os.Open("testdata/r4-examples/examples.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&m); err != nil {
		t.Fatal(err)
	}
	for n, r := range m {
		out[n] = r
	}
	if len(out) == 0 {
		t.Fatal("testdata/r4-examples/examples.json.gz holds no examples")
	}
	return out
}
