// Command gen writes the VKP R4 conformance resources of package spec
// (vkp-r4.json) from HL7 Norway's VKP R4 implementation guide 0.9.0: the
// profiles, extensions, code systems and value sets the VKP connector needs,
// in FHIR JSON, one compact resource a line. It writes no-basis-r4.json the
// same way from HL7 Norway's basis profiles (hl7.fhir.no.basis), of which
// VKP's Patient and Address build on the Patient profile and what it uses
// (basisFiles).
//
// The guide's XML resources are converted with profile.FromXML; each result is
// added to a fresh set of definitions and its snapshot generated, so that a
// resource the validator cannot use fails here rather than at run time.
// Resources that cannot be used are skipped with the reason in skipped (and in
// SOURCE.md). It is run by `go generate` in connectors/vkp/spec; it is not
// part of the binary.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"hpsandbox/fhirstore/profile"
)

// folders of the guide that hold conformance resources the connector needs.
var folders = []string{"StructureDefinition", "CodeSystem", "ValueSet"}

// skipped are the guide's files that cannot be used, and why.
var skipped = map[string]string{
	"StructureDefinition/vkp-ImplementationGuide-v090.xml":                       "an STU3 ImplementationGuide (fhirVersion 3.0.1; dependency and package are STU3 elements)",
	"StructureDefinition/vkp-CarePlan-v090.structuredefinition-profile.xml":      "STU3 element names (CarePlan.context; R4 has encounter)",
	"StructureDefinition/vkp-MessageHeader-v090.structuredefinition-profile.xml": "STU3 element names (MessageHeader.receiver, .sender, .responsible at the top level; R4 moved them into destination and source)",
	"StructureDefinition/iso21090-ADXP-additionalLocator.xml":                    "a core extension (fhirVersion 4.0.0), already among the core definitions",
}

// basisFiles are the basis profiles' resources that no-basis-Patient needs:
// the profile, the HumanName and Address profiles of its elements, the
// extensions those name (patient-citizenship is a core extension), and the
// target profiles of its generalPractitioner and managingOrganization.
var basisFiles = []string{
	"StructureDefinition/no-basis-Practitioner.structuredefinition-profile.xml",
	"StructureDefinition/no-basis-PractitionerRole.StructureDefinition-profile.xml",
	"StructureDefinition/no-basis-Organization.structuredefinition-profile.xml",
	"StructureDefinition/no-basis-Patient.structuredefinition-profile.xml",
	"StructureDefinition/no-basis-HumanName.structuredefinition-profile.xml",
	"StructureDefinition/no-basis-Address.structuredefinition-profile.xml",
	"StructureDefinition/no-basis-middlename.structuredefinition-extension.xml",
	"StructureDefinition/no-basis-municipalitycode.StructureDefinition-extension.xml",
	"StructureDefinition/no-basis-urban-district.structuredefinition-extension.xml",
	"StructureDefinition/no-basis-propertyinformation.structuredefinition-extension.xml",
	"StructureDefinition/no-basis-address-official.structuredefinition-extension.xml",
}

func main() {
	src := flag.String("src", os.Getenv("HPS_VKP_R4"), "folder VKP-R4 of the guide (default: ../shared/specs/vkp-r4 beside the repository)")
	out := flag.String("out", "vkp-r4.json", "file to write")
	basisSrc := flag.String("basis", os.Getenv("HPS_NO_BASIS_R4"), "a checkout of HL7Norway/basisprofiler-r4 (default: ../shared/specs/no-basis-r4 beside the repository)")
	basisOut := flag.String("basis-out", "no-basis-r4.json", "file to write the basis profiles to")
	flag.Parse()
	root, err := repoRoot()
	if err != nil {
		log.Fatal(err)
	}
	bdir := *basisSrc
	if bdir == "" {
		bdir = filepath.Join(root, "..", "shared", "specs", "no-basis-r4")
	}
	var basis [][]byte
	if _, err := os.Stat(bdir); err == nil {
		if basis, err = convertFiles(bdir, basisFiles, nil); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*basisOut, joinLines(basis), 0o644); err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(os.Stderr, "gen: wrote %d resources to %s\n", len(basis), *basisOut)
	} else {
		fmt.Fprintf(os.Stderr, "gen: no basis profiles at %s (set HPS_NO_BASIS_R4); kept the committed %s\n", bdir, *basisOut)
		b, err := os.ReadFile(*basisOut)
		if err != nil {
			log.Fatal(err)
		}
		for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
			basis = append(basis, l)
		}
	}
	dir := *src
	if dir == "" {
		dir = filepath.Join(root, "..", "shared", "specs", "vkp-r4")
	}
	if _, err := os.Stat(dir); err != nil {
		fmt.Fprintf(os.Stderr, "gen: no VKP R4 guide at %s (set HPS_VKP_R4); kept the committed %s\n", dir, *out)
		return
	}
	data, n, err := generate(dir, basis)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d resources to %s\n", n, *out)
}

// generate is the content of vkp-r4.json made from the guide at dir, and
// the number of resources in it; basis are the basis profiles it builds on.
func generate(dir string, basis [][]byte) ([]byte, int, error) {
	var names []string
	for _, f := range folders {
		entries, err := os.ReadDir(filepath.Join(dir, f))
		if err != nil {
			return nil, 0, err
		}
		for _, e := range entries {
			if name := f + "/" + e.Name(); !e.IsDir() && skipped[name] == "" {
				names = append(names, name)
			}
		}
	}
	lines, err := convertFiles(dir, names, basis)
	if err != nil {
		return nil, 0, err
	}
	return joinLines(lines), len(lines), nil
}

func joinLines(lines [][]byte) []byte {
	var buf bytes.Buffer
	for _, l := range lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// convertFiles reads the resources names below dir, converts and checks
// them (with the resources of base, which they may build on), and returns
// them compact, sorted by resource type and url.
func convertFiles(dir string, names []string, base [][]byte) ([][]byte, error) {
	conv := profile.New()
	type res struct {
		key  string
		json []byte
	}
	var all []res
	{
		for _, name := range names {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
			switch filepath.Ext(name) {
			case ".xml":
				if raw, err = conv.FromXML(raw); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			case ".json":
			default:
				continue
			}
			c, err := compact(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			var head struct{ ResourceType, URL string }
			if err := json.Unmarshal(c, &head); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			all = append(all, res{head.ResourceType + " " + head.URL, c})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key < all[j].key })
	check := profile.New()
	for _, b := range base {
		if err := check.Add(b); err != nil {
			return nil, err
		}
	}
	for _, r := range all {
		if err := check.Add(r.json); err != nil {
			return nil, fmt.Errorf("%s: %w", r.key, err)
		}
	}
	var errs []error
	out := make([][]byte, len(all))
	for i, r := range all {
		out[i] = r.json
		typ, url, _ := strings.Cut(r.key, " ")
		if typ != "StructureDefinition" {
			continue
		}
		sd := check.StructureDefinition(url)
		if sd == nil {
			errs = append(errs, fmt.Errorf("%s: not found after Add", url))
			continue
		}
		if _, err := check.Snapshot(sd); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", url, err))
		}
	}
	return out, errors.Join(errs...)
}

// repoRoot is the folder of go.mod above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("gen: no go.mod above the working directory")
		}
		dir = up
	}
}

// compact drops the narrative, which validation does not read, and writes the
// resource without insignificant space, its properties in their order.
func compact(raw []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if _, ok := m["text"]; !ok {
		var c bytes.Buffer
		err := json.Compact(&c, raw)
		return c.Bytes(), err
	}
	// Remove the member "text" of the top-level object without reordering
	// the others: decode tokens of the top level only.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	out.WriteByte('{')
	first := true
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		if key == "text" {
			continue
		}
		if !first {
			out.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteByte(':')
		if err := json.Compact(&out, val); err != nil {
			return nil, err
		}
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}
