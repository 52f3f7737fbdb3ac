// Package guides holds the sandbox's API guides and serves them.
//
// The guides are Markdown files in this folder, written for the
// repository host (links between them are relative, anchors are the
// host's) and embedded in the binary. Load renders them with goldmark and
// highlights their code with chroma on the server; Handler serves them as
// HTML at /guides with a table of contents, a search across the guides,
// links to the OpenAPI document and the CapabilityStatement, and the
// rendered API reference. The pages load nothing from elsewhere.
//
// Every shell example in the guides is executable: a fenced block marked
// "sh example" holds one curl command, and the "expect" block after it
// the status and fields its answer must have. A block marked "hl7
// example" is an HL7 v2 message, sent over MLLP to the sandbox's
// medical-device listener, and its expect block names fields of the
// acknowledgement (MSA-1 = AA). The package's tests run every example, in
// the order of its guide, against a started sandbox that serves the
// connectors the guides show (see contributing.md here for the
// convention), check the links between the guides, anchors included, and
// check each answer of the sandbox's own APIs against its OpenAPI
// document. Flows curl cannot make (a browser login, a signed assertion,
// a DPoP proof, a websocket) are Go tests beside the guides
// (example_*_test.go). The JavaScript example, fhirclient/, is two
// static pages with the npm fhirclient library; the browser test serves
// them from a test server of its own (the product does not serve them) and
// drives a standalone launch through them in headless Chromium.
//
// It is not the portal (sandbox/portal) and not the OpenAPI document
// itself (sandbox/openapi), which it only renders.
package guides
