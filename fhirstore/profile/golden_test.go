package profile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with the file, or rewrites the file under -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n%s", file, got)
	}
}

// TestValidate_GoldenOutcomes renders the outcome of each resource of
// testdata/golden as the OperationOutcome issues the sandbox would return.
func TestValidate_GoldenOutcomes(t *testing.T) {
	d := testDefinitions(t)
	inputs, err := filepath.Glob("testdata/golden/*.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		if strings.HasSuffix(in, ".outcome.json") || strings.HasSuffix(in, ".snapshot.txt") {
			continue
		}
		t.Run(filepath.Base(in), func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var out []map[string]any
			for _, is := range d.Validate(raw, Options{}) {
				out = append(out, map[string]any{
					"severity": is.Severity, "code": is.Code, "diagnostics": is.Diagnostics,
					"expression": is.Expression, "rule": is.Rule,
				})
			}
			got, err := json.MarshalIndent(map[string]any{"resourceType": "OperationOutcome", "issue": out}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".json")+".outcome.json", append(got, '\n'))
		})
	}
}

// TestSnapshot_Golden generates the snapshot of the test profile over the
// core heart-rate profile (itself over vitalsigns and Observation) and
// lists each element's id, cardinality, types and fixed or pattern value.
func TestSnapshot_Golden(t *testing.T) {
	d := testDefinitions(t)
	for _, url := range []string{
		"http://example.org/fhir/StructureDefinition/heartrate-device",
		"http://example.org/fhir/StructureDefinition/battery-level",
	} {
		sd := d.StructureDefinition(url)
		els, err := d.Snapshot(sd)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, el := range els {
			b.WriteString(el.ID + " " + describe(el) + "\n")
		}
		golden(t, "testdata/golden/"+sd.Name+".snapshot.txt", []byte(b.String()))
	}
}

func describe(el *Element) string {
	var parts []string
	parts = append(parts, strings.TrimSpace(strings.Join([]string{itoa(el.MinCount()), ".." + string(el.Max)}, "")))
	var types []string
	for _, t := range el.Type {
		s := t.Code
		if len(t.Profile) > 0 {
			s += "(" + strings.Join(t.Profile, ",") + ")"
		}
		if len(t.TargetProfile) > 0 {
			s += "→" + strings.Join(t.TargetProfile, ",")
		}
		types = append(types, s)
	}
	parts = append(parts, strings.Join(types, "|"))
	for i, v := range []*TypedValue{el.Fixed, el.Pattern, el.MinValue, el.MaxValue} {
		if v != nil {
			parts = append(parts, choiceKeys[i]+v.Type+"="+compact(v.Value))
		}
	}
	if el.Slicing != nil {
		var ds []string
		for _, d := range el.Slicing.Discriminator {
			ds = append(ds, d.Type+":"+d.Path)
		}
		parts = append(parts, "slicing["+strings.Join(ds, ",")+" "+el.Slicing.Rules+"]")
	}
	if el.Binding != nil {
		parts = append(parts, "binding("+el.Binding.Strength+" "+el.Binding.ValueSet+")")
	}
	return strings.Join(parts, " ")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
