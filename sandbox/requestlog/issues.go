package requestlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Bounds on what IssuesFrom reads and keeps, so that a large or hostile
// body costs little and a log entry stays small.
const (
	MaxOutcomeBytes    = 64 << 10 // larger bodies are not parsed
	maxIssues          = 20
	maxDiagnosticBytes = 1024
	maxExpressionBytes = 256
	maxCodeBytes       = 64
)

// IssuesFrom returns the issues of an OperationOutcome in a response body,
// or nil when the body is not a JSON OperationOutcome (by content type and
// resourceType), is malformed, or is larger than MaxOutcomeBytes. At most
// 20 issues are kept, and long strings are cut.
func IssuesFrom(contentType string, body []byte) []Issue {
	if !mayBeOutcome(contentType, body) {
		return nil
	}
	return parseIssues(body)
}

// AttachOutcome gives e the issues of the error response body (of the
// given content type) when it is an OperationOutcome. A usual outcome is
// copied and parsed later by the Recorder's writer, off the request path; a
// large one is parsed at once, so that a burst of them cannot fill memory.
func (e *Entry) AttachOutcome(contentType string, body []byte) {
	if !mayBeOutcome(contentType, body) {
		return
	}
	if len(body) <= maxDeferredOutcome {
		e.outcome = bytes.Clone(body)
	} else {
		e.Issues = parseIssues(body)
	}
}

// maxDeferredOutcome bounds an error body that waits in the queue for the
// writer to parse: a full queue of them holds at most 16 MiB.
const maxDeferredOutcome = 4 << 10

// mayBeOutcome is IssuesFrom's cheap look before a full parse: a body
// that fails it is certainly not an outcome to read.
func mayBeOutcome(contentType string, body []byte) bool {
	return len(body) > 0 && len(body) <= MaxOutcomeBytes && jsonMediaType(contentType) &&
		bytes.Contains(body, []byte(`"OperationOutcome"`))
}

func parseIssues(body []byte) []Issue {
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity    string   `json:"severity"`
			Code        string   `json:"code"`
			Diagnostics string   `json:"diagnostics"`
			Expression  []string `json:"expression"`
			Location    []string `json:"location"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(body, &oo); err != nil || oo.ResourceType != "OperationOutcome" {
		return nil
	}
	n := min(len(oo.Issue), maxIssues)
	if n == 0 {
		return nil
	}
	issues := make([]Issue, n)
	for i, in := range oo.Issue[:n] {
		expr := in.Expression
		if len(expr) == 0 {
			expr = in.Location
		}
		issues[i] = Issue{
			Severity:    cut(in.Severity, maxCodeBytes),
			Code:        cut(in.Code, maxCodeBytes),
			Diagnostics: cut(in.Diagnostics, maxDiagnosticBytes),
		}
		if len(expr) > 0 {
			issues[i].Expression = cut(expr[0], maxExpressionBytes)
		}
	}
	return issues
}

// jsonMediaType reports whether a Content-Type names FHIR JSON or JSON.
func jsonMediaType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	// application/json+fhir is the DSTU2 name, still sent by some servers.
	return mt == "application/fhir+json" || mt == "application/json" || mt == "application/json+fhir"
}

// cut shortens s to at most n bytes without splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
