package conformance

import (
	"fmt"
	"net/url"
	"regexp"
	"sync"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/sandbox/requestlog"
)

// Severity is how much a failed check weighs: a failed error fails the
// run, a failed warning or info does not.
type Severity string

// Severities of a Check.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Status is the outcome of a check over the evidence.
type Status string

// Statuses of a Result.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Skip means the evidence holds nothing the check is about (an app
	// that never paged is not judged on paging).
	Skip Status = "skip"
)

// MaxEvidence bounds the evidence ids a Result names; the message says
// how many there were in all.
const MaxEvidence = 20

// Result is a check's judgement of the evidence.
type Result struct {
	Status  Status
	Message string
	// Evidence names the exchanges the judgement rests on (see Ref), at
	// most MaxEvidence of them: for a failure the offending ones, for a
	// pass those that showed it.
	Evidence []string
}

// Check is one conformance check.
type Check struct {
	// ID is stable across releases, reports refer to it: a family and a
	// name, e.g. "smart.pkce-s256".
	ID    string
	Title string
	// Cite is the URL of the specification section the check enforces.
	// A check adapted from a connector may have none.
	Cite     string
	Severity Severity
	// Source is the connector a check came from, "" for this package's.
	Source string
	// Evaluate judges the evidence. It must not modify it, and must
	// answer Skip, not Fail, when the evidence holds nothing it is about.
	Evaluate func(ev *Evidence) Result
}

// Evidence is what a run judges: one client's exchanges with one sandbox
// over a time window.
type Evidence struct {
	Sandbox  string
	ClientID string
	// FHIRBase is the sandbox's FHIR base URL, the aud its apps must send.
	FHIRBase     string
	Since, Until time.Time
	// Entries are the request log's entries of the window, oldest first:
	// the client's own and the anonymous ones (discovery, metadata),
	// which name no client.
	Entries []requestlog.Entry
	// Exchanges are connector messages with their bodies, for the
	// connectors' checks; a run over the request log alone has none.
	Exchanges []*connectors.Exchange

	once    sync.Once
	derived []view // see views
}

// Ref names an entry in a Result's evidence: its request id, or
// "log-<id>" for an entry that has none.
func Ref(e *requestlog.Entry) string {
	if e.RequestID != "" {
		return e.RequestID
	}
	return fmt.Sprintf("log-%d", e.ID)
}

// checkIDPattern is a check id: a family and a name, lower case, or a
// connector's check id (its connector id and a hyphen first).
var checkIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)?$`)

// validate says what is wrong with c, or nil.
func (c *Check) validate() error {
	switch {
	case !checkIDPattern.MatchString(c.ID) || len(c.ID) > 64:
		return fmt.Errorf("conformance: check id %q is not a family and a name in lower case (e.g. smart.pkce-s256)", c.ID)
	case c.Title == "":
		return fmt.Errorf("conformance: check %s has no title", c.ID)
	case c.Evaluate == nil:
		return fmt.Errorf("conformance: check %s has no Evaluate", c.ID)
	}
	switch c.Severity {
	case SeverityError, SeverityWarning, SeverityInfo:
	default:
		return fmt.Errorf("conformance: check %s has severity %q, not error, warning or info", c.ID, c.Severity)
	}
	if c.Cite == "" && c.Source == "" {
		return fmt.Errorf("conformance: check %s cites no specification section", c.ID)
	}
	if c.Cite != "" {
		if u, err := url.Parse(c.Cite); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("conformance: check %s cites %q, not an absolute URL", c.ID, c.Cite)
		}
	}
	return nil
}
