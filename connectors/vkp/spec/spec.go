// Package spec holds the conformance resources of the welfare-technology
// hub's (VKP) R4 implementation guide 0.9.0 (HL7 Norway) that the VKP
// connector judges messages by: the Encounter profiles of alarms and
// supervision, the MedicationDispense profile of dispenser events, the
// Observation profiles of measurements, their extensions, code systems and
// value sets, and its Patient and Address profiles with the Norwegian basis
// profiles they build on (no-basis-Patient, no-basis-HumanName,
// no-basis-Address and their extensions, hl7.fhir.no.basis). See SOURCE.md
// for where they come from and which of the guide's resources are left out
// and why.
//
// It is data and the set of definitions built from it; it does not validate
// by itself (package fhirstore/profile does) nor speak to a hub.
package spec

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"hpsandbox/fhirstore/profile"
)

//go:generate go run ./internal/gen -out vkp-r4.json

// resources are the guide's conformance resources, one compact JSON
// resource a line, written by internal/gen.
//
//go:embed vkp-r4.json
var resources []byte

// basis are the basis profiles VKP's Patient and Address build on, one
// compact JSON resource a line, written by internal/gen.
//
//go:embed no-basis-r4.json
var basis []byte

// Canonical URLs of the VKP profiles the connector validates against.
const (
	Encounter          = "http://ehelse.no/fhir/StructureDefinition/vkp-Encounter-v090"
	DigitalEncounter   = "http://ehelse.no/fhir/StructureDefinition/vkp-digital-Encounter-v090"
	MedicationDispense = "http://ehelse.no/fhir/StructureDefinition/vkp-MedicationDispense-v090"
	DetectedIssue      = "http://ehelse.no/fhir/StructureDefinition/vkp-DetectedIssue-v090"
	Observation        = "http://ehelse.no/fhir/StructureDefinition/vkp-Observation-v090"
	BloodPressure      = "http://ehelse.no/fhir/StructureDefinition/vkp-Observation-Bloodpressure-v090"
	BodyTemperature    = "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Bodytemp-v090"
	BodyWeight         = "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Bodyweight-v090"
	HeartRate          = "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Heartrate-v090"
	OxygenSaturation   = "http://hl7.no/fhir/StructureDefinition/vkp-Observation-Oxygensat-v090"
	// Patient is VKP's Patient profile, on NoBasisPatient.
	Patient = "http://ehelse.no/fhir/StructureDefinition/vkp-Patient-v090"
	// NoBasisPatient is the Norwegian basis profile of Patient: national
	// identifiers by slice (FNR, DNR, FHN, HNR), no-basis-HumanName and
	// no-basis-Address (the municipality-number extension).
	NoBasisPatient = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient"
)

var (
	once    sync.Once
	defs    *profile.Definitions
	defsErr error
)

// Definitions returns the R4 core definitions with the VKP resources added,
// built on first use and shared after; the set is safe for concurrent use,
// and callers must not add to or remove from it.
func Definitions() (*profile.Definitions, error) {
	once.Do(func() { defs, defsErr = load() })
	return defs, defsErr
}

// Resources returns the VKP conformance resources and the basis profiles
// they build on (first), each its own copy of one resource in FHIR JSON,
// for a caller that loads them elsewhere (into a sandbox's own
// definitions, as a supplier would PUT them).
func Resources() []json.RawMessage {
	all := append(append(bytes.TrimSpace(bytes.Clone(basis)), '\n'), bytes.TrimSpace(resources)...)
	lines := bytes.Split(all, []byte("\n"))
	out := make([]json.RawMessage, len(lines))
	for i, l := range lines {
		out[i] = bytes.Clone(l)
	}
	return out
}

func load() (*profile.Definitions, error) {
	d := profile.New()
	for i, line := range Resources() {
		if err := d.Add(line); err != nil {
			return nil, fmt.Errorf("spec: resource %d of no-basis-r4.json and vkp-r4.json: %w", i+1, err)
		}
	}
	return d, nil
}
