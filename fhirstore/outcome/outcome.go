// Package outcome carries FHIR errors as values: each error knows its HTTP
// status and its issues (severity, issue type code, diagnostics, element
// path) and renders as one OperationOutcome resource.
//
// It is not a logger and does not decide policy: the packages that detect a
// problem build the Error, and the gateway only renders it.
package outcome

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Severity is an OperationOutcome.issue.severity code.
type Severity string

// Issue severities of the FHIR R4 IssueSeverity value set.
const (
	Fatal       Severity = "fatal"
	ErrorLevel  Severity = "error"
	Warning     Severity = "warning"
	Information Severity = "information"
)

// Code is an OperationOutcome.issue.code from the FHIR R4 IssueType value set.
type Code string

// Issue type codes used by the sandbox.
const (
	Invalid      Code = "invalid"
	Structure    Code = "structure"
	Required     Code = "required"
	Value        Code = "value"
	Invariant    Code = "invariant"
	Security     Code = "security"
	Login        Code = "login"
	Forbidden    Code = "forbidden"
	Processing   Code = "processing"
	NotSupported Code = "not-supported"
	Duplicate    Code = "duplicate"
	// MultipleMatches: a conditional interaction's criteria matched more
	// resources than it may act on.
	MultipleMatches Code = "multiple-matches"
	NotFound        Code = "not-found"
	Deleted         Code = "deleted"
	TooLong         Code = "too-long"
	Conflict        Code = "conflict"
	BusinessRule    Code = "business-rule"
	Exception       Code = "exception"
	Informational   Code = "informational"
	// TooCostly: the request asks for more than the server will do (a
	// search beyond its limits).
	TooCostly Code = "too-costly"
	// Timeout: the server stopped the work at its time budget.
	Timeout Code = "timeout"
)

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    Severity `json:"severity"`
	Code        Code     `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	// Expression holds FHIRPath expressions naming the elements concerned,
	// e.g. "Patient.birthDate".
	Expression []string `json:"expression,omitempty"`
}

// Error is a FHIR error: an HTTP status and the issues that explain it.
type Error struct {
	Status int
	Issues []Issue
	cause  error
}

// New returns an Error with one issue of severity error.
func New(status int, code Code, format string, args ...any) *Error {
	return &Error{Status: status, Issues: []Issue{{
		Severity:    ErrorLevel,
		Code:        code,
		Diagnostics: fmt.Sprintf(format, args...),
	}}}
}

// At returns a copy of e whose first issue names the given element paths.
func (e *Error) At(expression ...string) *Error {
	c := *e
	c.Issues = append([]Issue(nil), e.Issues...)
	if len(c.Issues) > 0 {
		c.Issues[0].Expression = append([]string(nil), expression...)
	}
	return &c
}

// Wrap returns a copy of e that unwraps to cause, for errors.Is and errors.As.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Error implements error with the diagnostics of every issue.
func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Issues))
	for _, is := range e.Issues {
		s := is.Diagnostics
		if len(is.Expression) > 0 {
			s = strings.Join(is.Expression, ", ") + ": " + s
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), strings.Join(parts, "; "))
}

// Unwrap returns the error that caused e, if any.
func (e *Error) Unwrap() error { return e.cause }

// From returns err as an *Error; an error that is not one becomes a 500
// with a generic diagnostic, so that internal details never reach a client.
func From(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return New(http.StatusInternalServerError, Exception, "internal server error").Wrap(err)
}

type resourceJSON struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// JSON renders the issues as an OperationOutcome resource.
func JSON(issues []Issue) []byte {
	if len(issues) == 0 {
		issues = []Issue{{Severity: Information, Code: Informational, Diagnostics: "ok"}}
	}
	b, err := json.Marshal(resourceJSON{ResourceType: "OperationOutcome", Issue: issues})
	if err != nil {
		// Issues hold only strings; marshalling cannot fail.
		panic(err)
	}
	return b
}

// JSON renders e as an OperationOutcome resource.
func (e *Error) JSON() []byte { return JSON(e.Issues) }

// Article returns noun after its indefinite article, for diagnostics that
// name a resource type or another word the code does not know in advance:
// "an Encounter", "an Observation", "a Patient". It goes by the first
// letter, which is right for every FHIR R4 resource type.
func Article(noun string) string {
	if noun != "" && strings.ContainsRune("AEIOUaeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
