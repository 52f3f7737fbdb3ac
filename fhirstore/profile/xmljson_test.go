package profile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFromXML_Golden converts the XML resources of testdata/xml and
// compares the JSON with the golden file beside each.
func TestFromXML_Golden(t *testing.T) {
	files, err := filepath.Glob("testdata/xml/*.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Core().FromXML(raw)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden(t, strings.TrimSuffix(f, ".xml")+".json", pretty.Bytes())
		})
	}
}

// TestFromXML_ProfileValidates: the converted profile loads, gets a
// snapshot and judges resources.
func TestFromXML_ProfileValidates(t *testing.T) {
	raw, err := os.ReadFile("testdata/xml/structuredefinition-device-alarm.xml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := Core().FromXML(raw)
	if err != nil {
		t.Fatal(err)
	}
	d := New()
	if err := d.Add(js); err != nil {
		t.Fatal(err)
	}
	good := `{"resourceType":"Communication","status":"in-progress","priority":"urgent",
		"category":[{"coding":[{"system":"http://example.org/alarm-kind","code":"fall"}]}]}`
	bad := `{"resourceType":"Communication","status":"completed",
		"category":[{"coding":[{"system":"http://example.org/alarm-kind","code":"smoke"}]}]}`
	opts := Options{Profiles: []string{"http://example.org/fhir/StructureDefinition/device-alarm"}}
	if issues := d.Validate([]byte(good), opts); HasErrors(issues) {
		t.Errorf("good alarm: %s", dump(issues))
	}
	issues := d.Validate([]byte(bad), opts)
	for _, rule := range []string{"fixed", "pattern", "cardinality"} {
		found := false
		for _, is := range issues {
			found = found || is.Rule == rule
		}
		if !found {
			t.Errorf("bad alarm: no %s issue in\n%s", rule, dump(issues))
		}
	}
}

func TestFromXML_RefusesWhatIsNotFHIR(t *testing.T) {
	for _, in := range []string{``, `<Nope xmlns="http://hl7.org/fhir"/>`, `<Patient xmlns="http://hl7.org/fhir"><colour value="red"/></Patient>`, `<Patient`} {
		if _, err := Core().FromXML([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
