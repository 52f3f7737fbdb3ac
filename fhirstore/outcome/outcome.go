// Package outcome carries FHIR errors as values: each error knows its
// category (what kind of failure it is: incorrect, not found, conflict,
// fault, …) and its issues (severity, issue type code, diagnostics, element
// path) and renders as one OperationOutcome resource.
//
// It is not a logger and does not decide policy: the packages that detect a
// problem build the Error. Nor does it speak HTTP: the edge that answers
// (sandbox/fhirapi for HTTP, a Bundle's response entries) maps the category
// to a status code, in one place.
package outcome

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Category is the kind of failure an Error reports, as the party that
// detects it knows it: the request is incorrect, the resource is missing,
// the server is busy. The edge that answers maps it to a status code; the
// set is closed and distinguishes every status the FHIR API answers.
type Category string

// The categories of failure.
const (
	// Incorrect: the request is malformed or breaks a rule of the API
	// (HTTP 400).
	Incorrect Category = "incorrect"
	// Unauthenticated: the request carries no credentials or bad ones (401).
	Unauthenticated Category = "unauthenticated"
	// Denied: the credentials do not allow what is asked (403).
	Denied Category = "forbidden"
	// Missing: what the request addresses does not exist (404).
	Missing Category = "not-found"
	// NotAllowed: the address exists but does not take this method (405).
	NotAllowed Category = "not-allowed"
	// NotAcceptable: no representation the client accepts can be given
	// (406).
	NotAcceptable Category = "not-acceptable"
	// Conflicting: the request conflicts with the current state, e.g. a
	// resource that already exists (409).
	Conflicting Category = "conflict"
	// Gone: the resource existed and was deleted (410).
	Gone Category = "gone"
	// PreconditionFailed: a condition of the request does not hold: a
	// stale If-Match version, criteria matching more than they may (412).
	PreconditionFailed Category = "precondition-failed"
	// TooLarge: the request body exceeds the limit (413).
	TooLarge Category = "too-large"
	// UnsupportedMedia: the request body is of a media type not taken
	// (415).
	UnsupportedMedia Category = "unsupported-media-type"
	// Unprocessable: the request is well-formed but its content cannot be
	// processed: a resource that breaks a rule, a patch that does not apply
	// (422).
	Unprocessable Category = "unprocessable"
	// Throttled: the client sent too many requests (429).
	Throttled Category = "throttled"
	// Fault: the server failed (500).
	Fault Category = "fault"
	// Unimplemented: the server does not implement what is asked (501).
	Unimplemented Category = "unimplemented"
	// Busy: the server cannot do it now: a time budget ran out, it is
	// overloaded (503).
	Busy Category = "busy"
)

// Server reports whether the category blames the server rather than the
// request (a 5xx in HTTP).
func (c Category) Server() bool { return c == Fault || c == Unimplemented || c == Busy }

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

// Error is a FHIR error: its category and the issues that explain it.
type Error struct {
	Category Category
	Issues   []Issue
	cause    error
}

// New returns an Error with one issue of severity error.
func New(category Category, code Code, format string, args ...any) *Error {
	return &Error{Category: category, Issues: []Issue{{
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

// Error implements error with the category and the diagnostics of every
// issue.
func (e *Error) Error() string {
	parts := make([]string, 0, len(e.Issues))
	for _, is := range e.Issues {
		s := is.Diagnostics
		if len(is.Expression) > 0 {
			s = strings.Join(is.Expression, ", ") + ": " + s
		}
		parts = append(parts, s)
	}
	return fmt.Sprintf("%s: %s", e.Category, strings.Join(parts, "; "))
}

// Unwrap returns the error that caused e, if any.
func (e *Error) Unwrap() error { return e.cause }

// From returns err as an *Error; an error that is not one becomes a Fault
// with a generic diagnostic, so that internal details never reach a client.
func From(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return New(Fault, Exception, "internal server error").Wrap(err)
}

type resourceJSON struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// CategoryOf returns the category of err: that of the *Error it wraps, or
// Fault.
func CategoryOf(err error) Category {
	var fe *Error
	if errors.As(err, &fe) && fe.Category != "" {
		return fe.Category
	}
	return Fault
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
