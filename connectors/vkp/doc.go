// Package vkp emulates the welfare-technology hub (Velferdsteknologisk
// knutepunkt, VKP, FHIR R4 API 0.9.0) towards the municipality's record:
// suppliers of alarms, digital supervision, medicine dispensers and home
// measurements submit to it as they would to the hub, and what it accepts
// lands in the sandbox's FHIR store on the right patient, where an
// EHR-side app sees it appear.
//
// # Endpoints
//
// Below the connector's mount (/connectors/vkp, or
// /sandboxes/{sandbox}/connectors/vkp), with {orgnr} the organisation
// number of the receiving municipality (fixtures.Municipalities: the
// municipalities of the synthetic world; another number is 404):
//
//	POST /epj/r4/{orgnr}/Bundle                 a submission (transaction or collection Bundle)
//	GET  /epj/r4/{orgnr}/{Patient|EpisodeOfCare|CarePlan}/{id}
//	GET  /epj/r4/{orgnr}/{Patient|EpisodeOfCare|CarePlan}?…  search (no _include/_revinclude)
//	POST /epj/r4/{orgnr}/{Patient|EpisodeOfCare|CarePlan}/_search  search with a form body
//	GET|PUT /settings                           the sandbox's faults and allow-list (Settings)
//
// # Submissions
//
// A submission's resources make one kind (Kind): an alarm is one
// DetectedIssue, one Encounter and one Composition; a digital supervision
// one Encounter (vkp-digital-Encounter) and one Composition; a dispenser
// event MedicationDispenses; measurements Observations (blood pressure with
// its SNOMED CT component slices, body temperature, weight, heart rate,
// SpO2, by LOINC code) and QuestionnaireResponses. Parse judges it, in
// this order, answering the first failure as an OperationOutcome that
// names the elements (Bundle.entry[1].resource.subject) and storing
// nothing:
//
//   - the Bundle's shape and kind (422, naming the entry that fits no kind);
//   - the test-data guard (package connectors/nin): every national identity
//     number must be synthetic or on an allow-list (Options.Allow, or the
//     sandbox's Settings.Allow); a refusal is 422, logged with the
//     elements concerned, never the number;
//   - one person, named by national identity number (subject.identifier,
//     or DetectedIssue.patient.identifier), in every resource (422);
//   - every coding of the guide's code systems (vkp-alert-code,
//     vkp-severity-level, vkp-composition-category, vkp-composition-event,
//     …; CodeSystems) has a code of its system (422, code-invalid);
//   - each resource against its VKP profile (ProfileOf) with package
//     connectors/vkp/spec's definitions (422 with the validator's issues).
//
// An accepted submission is stored as one transaction (Submission.Transaction):
// the person is found by identifier, or registered as a new Patient
// tagged as the connector's when the sandbox does not know that
// synthetic person; every resource's subject points at the Patient; a
// resource with its own identifier (system urn:ietf:rfc:3986, a urn:uuid)
// is stored at the id that identifier makes (IDOf: vkp- and the UUID), so a retried
// or duplicated submission changes nothing new, and the later events of an alarm (a Composition's
// event: 0 reported, 1 being handled, 3 acknowledged, …, the Encounter's
// status in-progress to finished, the Composition's status preliminary to
// final when it is journaled) are the next versions of the same
// resources, visible in their _history. A submission whose identifier is
// already stored about another person is refused (409) before anything is
// written. The answer is the transaction-response Bundle. The person is
// searched for before the transaction, where reads run beside each other;
// a known person's transaction refers to their Patient and holds no
// conditional create, which would search inside the store's single write.
// Every resource a supplier sends is validated as FHIR R4 by google/fhir
// (fhirjson.Parse) once, in Parse, after the VKP profiles; the
// transaction built from the resources that passed changes only what
// keeps them valid (ids, subject references, a Patient of the hub's own),
// so it is vouched for (interaction.BundleRequest.Validated) and the
// engine does not parse it with google/fhir again. A transaction whose
// supplier-given fullUrls are not of the form of a uri is not vouched for,
// and the engine validates it in full. FuzzParse checks that every vouched
// transaction passes fhirjson.Parse whole.
//
// # The municipality's records
//
// Reads and searches below {orgnr} serve that municipality's records only
// (Resident): the Patients whose current address carries the basis
// profile's municipality-number extension (no-basis-municipalitycode) with
// the municipality's number — residence, which is what makes a person the
// municipality's to serve, and what every patient of the synthetic world
// carries — and the EpisodeOfCares (patient) and CarePlans (subject) about
// such a Patient. managingOrganization does not decide it: the fixtures'
// episodes are hospitals' as often as the municipality's. Another
// municipality's record read by id is 404, as if it were not there; a
// search (by identifier, by patient, by anything) lists none of them. A
// search page reads the store's pages until it holds _count of the
// municipality's (never more), and gives a total only when it saw every
// match; _summary, _elements and _contained are refused, since the
// decision needs the whole resource. A person a submission registers is
// registered as a resident of the receiving municipality.
//
// Patients served are judged by the Norwegian basis profile
// (no-basis-Patient, package connectors/vkp/spec, BasisIssues): a search
// reports a Patient that breaks one of its rules in an OperationOutcome
// entry of search mode outcome (warnings naming the element), and serves
// it still; a read by id, which has no place for it, tells the operator's
// log.
//
// # Access
//
// Authorize is the HelseID-style rule (Options.Authorize may replace it):
// without a token (an open sandbox) everything is allowed; a token must be
// DPoP-bound and proven, carry a vkp-id claim Supplier_System_Municipality
// naming the receiving municipality, and grant
// nhn:vkp/api/user/{Resource}.{read|write|*} for each resource type read or
// submitted.
//
// # Faults and checks
//
// Settings inject faults into a sandbox's submissions (429 with
// Retry-After, 503, slow answers, duplicate delivery into the record, and
// for callers with a DPoP-bound token a 401 use_dpop_nonce challenge with
// a DPoP-Nonce, as a resource server that rotated its nonce answers, RFC
// 9449 §9) and into what readers list (the entries of a page shuffled
// within windows, deterministically by seed and page: events that arrive
// out of the order they were sent in). The nonce a challenge names is the
// gateway's nonce in force (the one the request's verified proof carried):
// the gateway's nonces are shared by every resource it serves and rotate
// on their own, and a nonce of the hub's own would be refused by it. They
// are kept with the sandbox's own settings (connectors.SettingsStore, the
// tenant registry), so they survive a restart; a gateway reads them again
// after a few seconds, and counts submissions on its own. The journaling
// service (connectors/jft) and PMD take the same settings.
//
// Checks judge every submission (SubmissionChecks): the kind of Bundle,
// code-system membership, the subject identifier, synthetic persons, time
// zones on date-times, the VKP profiles, and own identifiers that make
// retries safe. Their conformance profile is titled "welfare-technology
// sender (VKP R4)".
//
// The guide's severity-level extension fixes coding.system to the value
// set's URL, which its own required binding then refuses; the profile
// validator reports that as an error, so a submission that carries the
// extension is refused until the guide is corrected.
//
// It is not a message broker: no MessageHeader, no delivery to other
// receivers, and no subscription back to the supplier.
package vkp
