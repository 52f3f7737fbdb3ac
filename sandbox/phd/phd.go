// Package phd judges what a Personal Health Gateway (PHG) uploads to a
// sandbox's FHIR API, by the HL7 Personal Health Device implementation
// guide (PHD IG, http://hl7.org/fhir/uv/phd): transaction Bundles of
// PhdDevice, PhgDevice, PhdPatient and the PHD Observation profiles.
//
// Judge validates each entry against its PHD profile (package
// fhirstore/profile, with the guide's definitions held here as data, see
// SOURCE.md) and applies the guide's rules the profiles cannot express:
// device identity (the IEEE EUI-64 system id), each observation tied to
// its device, derivedFrom and hasMember resolving inside the upload, times
// with a zone, and conditional creates so that a resend makes no
// duplicates. The gateway runs it on each PHD upload and keeps one verdict
// per rule that applies on the upload's own request log entry
// (requestlog.Entry.Verdicts, LogVerdicts), as a connector's checks keep
// theirs on each message; Checks are the conformance checks that read
// those verdicts, grouped in the profile "PHD gateway", so that a run
// shows each rule passing or failing per upload.
//
// It does not store anything, speak HTTP or convert IEEE 11073 data.
package phd

import (
	_ "embed"
	"fmt"
	"sync"

	"hpsandbox/fhirstore/profile"
)

//go:generate go run ./internal/gen -out phd.json

// resources are the guide's conformance resources the judge needs, one
// compact FHIR JSON resource a line, written by internal/gen.
//
//go:embed phd.json
var resources []byte

// Canonical URLs of the PHD profiles.
const (
	ig                     = "http://hl7.org/fhir/uv/phd/StructureDefinition/"
	PhdDevice              = ig + "PhdDevice"
	PhgDevice              = ig + "PhgDevice"
	PhdPatient             = ig + "PhdPatient"
	PhdBaseObservation     = ig + "PhdBaseObservation"
	PhdNumericObservation  = ig + "PhdNumericObservation"
	PhdCompoundNumeric     = ig + "PhdCompoundNumericObservation"
	PhdCodedEnumeration    = ig + "PhdCodedEnumerationObservation"
	PhdStringEnumeration   = ig + "PhdStringEnumerationObservation"
	PhdRtsaObservation     = ig + "PhdRtsaObservation"
	PhdCoincidentTimeStamp = ig + "PhdCoincidentTimeStampObservation"
	profilePrefix          = ig
	systemIDSystem         = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680"
	mdcSystem              = "urn:iso:std:iso:11073:10101"
	mdcCoincidentTimeStamp = "67975"
	mdcPHGDeviceType       = "531981" // MDC_MOC_VMS_MDS_AHD: a PHG
)

var (
	once    sync.Once
	defs    *profile.Definitions
	defsErr error
)

// Definitions returns the R4 core definitions with the PHD resources
// added, built on first use and shared after; callers must not change it.
func Definitions() (*profile.Definitions, error) {
	once.Do(func() {
		d := profile.New()
		for i, line := range splitLines(resources) {
			if err := d.Add(line); err != nil {
				defsErr = fmt.Errorf("phd: resource %d of phd.json: %w", i+1, err)
				return
			}
		}
		defs = d
	})
	return defs, defsErr
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		if i > 0 {
			out = append(out, b[:i])
		}
		if i == len(b) {
			break
		}
		b = b[i+1:]
	}
	return out
}
