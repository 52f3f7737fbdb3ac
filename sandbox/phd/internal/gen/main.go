// Command gen writes phd.json of package phd from the HL7 Personal Health
// Device (PHD) implementation guide's source (github.com/HL7/PHD, folder
// input/resources): the profiles a PHD gateway's uploads are judged by and
// the code systems and value sets they bind, in FHIR JSON, one compact
// resource a line, without narrative. Each is converted with
// profile.FromXML, added to a fresh set of definitions and its snapshot
// generated, so that what the validator cannot use fails here. It is run by
// `go generate` in sandbox/phd (see SOURCE.md); it is not part of the
// binary.
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
	"regexp"
	"sort"

	"hpsandbox/fhirstore/profile"
)

// kept are the guide's files the judge needs.
var kept = []string{
	"PhdDevice.xml", "PhgDevice.xml", "PhdPatient.xml",
	"PhdBaseObservation.xml", "PhdNumericObservation.xml", "PhdCompoundNumericObservation.xml",
	"PhdCodedEnumerationObservation.xml",
	"PhdStringEnumerationObservation.xml", "PhdRtsaObservation.xml", "PhdCoincidentTimeStampObservation.xml",
	"ContinuaDeviceIdentifiers.codesystem.xml", "ContinuaPHD.codesystem.xml", "ContinuaHFS.codesystem.xml",
	"ASN1ToHL7.codesystem.xml", "DeviceSystemIdIdentifier.valueset.xml", "DeviceTransportIdentifiers.valueset.xml",
	"ASN1attribute.valueset.xml", "ASN1measurement.valueset.xml",
}

// errata fix element ids the guide's source misspells (a ':' for a '.',
// a path segment twice), per file: without them the elements are not found
// in the base and no snapshot can be made. See SOURCE.md.
var errata = map[string][]fix{
	"PhdDevice.xml": {{`quantitiesProperty:valueQuantity\.`, "quantitiesProperty.valueQuantity."}},
	"PhgDevice.xml": {{`quantitiesProperty:valueQuantity\.`, "quantitiesProperty.valueQuantity."}},
	"PhdNumericObservation.xml": {
		{`(:[A-Za-z0-9]+Component):value\[x\]\.valueRange\.(low|high)\.value\.code`, "$1.value[x].$2.code"},
		{`(:[A-Za-z0-9]+Component):value\[x\]\.valueRange\.`, "$1.value[x]."},
	},
}

// fix is a regular expression and its replacement.
type fix struct{ re, with string }

func main() {
	src := flag.String("src", os.Getenv("HPS_PHD_IG"), "folder input/resources of a checkout of github.com/HL7/PHD")
	out := flag.String("out", "phd.json", "file to write")
	flag.Parse()
	if *src == "" {
		fmt.Fprintf(os.Stderr, "gen: no PHD guide named (-src or HPS_PHD_IG); kept the committed %s\n", *out)
		return
	}
	data, n, err := generate(*src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d resources to %s\n", n, *out)
}

func generate(dir string) ([]byte, int, error) {
	conv := profile.New()
	type res struct {
		key  string
		json []byte
	}
	var all []res
	for _, name := range kept {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, 0, err
		}
		raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
		for _, f := range errata[name] {
			raw = regexp.MustCompile(f.re).ReplaceAll(raw, []byte(f.with))
		}
		if raw, err = conv.FromXML(raw); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		delete(doc, "text")
		c, err := json.Marshal(doc)
		if err != nil {
			return nil, 0, err
		}
		var head struct{ ResourceType, URL string }
		_ = json.Unmarshal(c, &head)
		all = append(all, res{head.ResourceType + " " + head.URL, c})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].key < all[j].key })
	check := profile.New()
	for _, r := range all {
		if err := check.Add(r.json); err != nil {
			return nil, 0, fmt.Errorf("%s: %w", r.key, err)
		}
	}
	var errs []error
	var buf bytes.Buffer
	for _, r := range all {
		var head struct{ ResourceType, URL string }
		_ = json.Unmarshal(r.json, &head)
		if head.ResourceType == "StructureDefinition" {
			if sd := check.StructureDefinition(head.URL); sd == nil {
				errs = append(errs, fmt.Errorf("%s: not found after Add", head.URL))
			} else if _, err := check.Snapshot(sd); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", head.URL, err))
			}
		}
		buf.Write(r.json)
		buf.WriteByte('\n')
	}
	if err := errors.Join(errs...); err != nil {
		return nil, 0, err
	}
	return buf.Bytes(), len(all), nil
}
