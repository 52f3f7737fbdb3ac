// Command genexamples writes testdata/r4-examples/examples.json.gz, the
// instance examples of the FHIR R4 specification from the npm package
// hl7.fhir.r4.examples 4.0.1, for TestR4Examples.
//
// The package holds every resource the specification publishes. Kept are
// the examples of resources (Patient-example.json …); left out are the
// specification's own definitions (StructureDefinition, ValueSet,
// CodeSystem, SearchParameter, OperationDefinition, CompartmentDefinition,
// ConceptMap, NamingSystem, ImplementationGuide) and the Bundles of them,
// which the validator's core data already derives from and which would
// make the file six times larger. TestR4Examples runs on the whole
// package when HPS_R4_EXAMPLES names its unpacked folder.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"

	"hpsandbox/fhirstore/profile/internal/npmdata"
)

// Package is the npm package the examples come from.
const Package = "hl7.fhir.r4.examples@4.0.1"

// definitions are the resource types whose instances in the package are
// the specification's definitions rather than examples.
var definitions = map[string]bool{
	"StructureDefinition": true, "ValueSet": true, "CodeSystem": true, "SearchParameter": true,
	"OperationDefinition": true, "CompartmentDefinition": true, "ConceptMap": true,
	"NamingSystem": true, "ImplementationGuide": true,
}

func main() {
	src := flag.String("src", os.Getenv("HPS_R4_EXAMPLES"), "the unpacked folder (package/) of "+Package+" (default: npm pack into a temporary folder)")
	out := flag.String("out", "testdata/r4-examples", "folder to write")
	flag.Parse()
	dir := *src
	if dir == "" {
		tmp, err := os.MkdirTemp("", "r4examples")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		if dir, err = fetch(tmp); err != nil {
			// Offline, `make generate` keeps the committed file.
			if _, serr := os.Stat(filepath.Join(*out, "examples.json.gz")); serr == nil {
				fmt.Fprintf(os.Stderr, "genexamples: %v; kept the committed %s\n", err, *out)
				return
			}
			log.Fatal(err)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		log.Fatal(err)
	}
	sort.Strings(files)
	kept := map[string]json.RawMessage{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		if example(raw) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				log.Fatalf("%s: %v", f, err)
			}
			kept[filepath.Base(f)] = buf.Bytes()
		}
	}
	write(filepath.Join(*out, "examples.json.gz"), kept)
}

// example reports whether a file of the package is an example to keep.
func example(raw []byte) bool {
	var head struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(raw, &head) != nil || head.ResourceType == "" || definitions[head.ResourceType] {
		return false
	}
	// A Bundle mostly of definitions is one of the specification's
	// (Bundle-resources.json holds every resource's StructureDefinition
	// and a few CapabilityStatements beside them).
	defs := 0
	for _, e := range head.Entry {
		if definitions[e.Resource.ResourceType] {
			defs++
		}
	}
	return head.ResourceType != "Bundle" || defs*2 <= len(head.Entry)
}

// fetch unpacks the npm package into tmp and returns the folder of its data.
func fetch(tmp string) (string, error) {
	pkg, err := npmdata.Unpack(tmp, Package, "set HPS_R4_EXAMPLES to an unpacked package folder")
	if err != nil {
		return "", err
	}
	return pkg, nil
}

func write(path string, v any) {
	if err := npmdata.WriteGzipJSON(path, v); err != nil {
		log.Fatal(err)
	}
}
