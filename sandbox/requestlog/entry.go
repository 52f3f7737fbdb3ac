package requestlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Entry is one recorded exchange on a sandbox.
type Entry struct {
	// ID is assigned by the Store on Append; it increases with every
	// append, so ordering by ID is ordering by arrival in the log.
	ID      int64
	Sandbox string
	// Time is when the request arrived.
	Time     time.Time
	ClientID string // the OAuth client, "" when the request had no token
	Method   string
	Path     string // the URL path, without the query
	Query    string // the raw query with credentials redacted (RedactQuery)
	Status   int
	Latency  time.Duration
	// RequestBytes is the declared Content-Length, or the bytes the
	// handler read when no length was declared.
	RequestBytes  int64
	ResponseBytes int64
	// Issues are the OperationOutcome issues of an error response.
	Issues    []Issue
	Scopes    string // the scopes granted to the token used, space-separated
	RequestID string // the X-Request-Id the gateway answered with
	// Connector is the id of the connector that took the exchange, ""
	// for the FHIR API and the gateway's other endpoints.
	Connector string
	// Channel is how a connector's exchange arrived: ChannelHTTP, or a
	// message transport such as ChannelMLLP; "" for the FHIR API. For a
	// message, Method is its kind (e.g. "ORU^R01") and Path the channel's
	// name or address.
	Channel string
	// Accept is the request's Accept header (cut to 128 bytes), evidence
	// of the media type a client asks for.
	Accept string
	// Preconditions names the conditional-request headers sent, space
	// separated, in the order If-Match, If-None-Match, If-None-Exist.
	Preconditions string
	// RetryAfter is the delay a 429 or 503 answer asked for in its
	// Retry-After header (delay-seconds only), 0 when it asked none.
	RetryAfter time.Duration
	// OAuth holds the authorization server's facts of a request to its
	// endpoints; nil for every other exchange.
	OAuth *OAuth
	// Verdicts are the judgements of a connector's checks on the message,
	// made when it arrived (the log keeps no bodies to judge later); only
	// the checks that were about it.
	Verdicts []Verdict

	// outcome is an error body that the Recorder's writer parses into
	// Issues, so that parsing costs the request nothing.
	outcome []byte
}

// Verdict is one connector check's judgement of one message.
type Verdict struct {
	Check string // the check's id
	Pass  bool
	// Message says why it failed (or a remark on a pass), cut to 300
	// bytes; never the message's content beyond what a diagnostic names.
	Message string
}

// Channels a connector's exchange arrives by.
const (
	ChannelHTTP = "http"
	ChannelMLLP = "mllp" // HL7 v2 over the Minimal Lower Layer Protocol (TCP)
)

// Note is what the auth layer learns about a request and the log keeps:
// the client and the scopes granted to its token, never the token.
type Note struct {
	ClientID string
	Scopes   string
	// Connector names the connector a request was for when the gateway
	// answered it before the connector did (refusing its token, say).
	Connector string
	// Sandbox names the sandbox of a request whose route names none: the
	// authorization server's endpoints serve every sandbox and learn the
	// sandbox from the client.
	Sandbox string
	// OAuth is what the authorization server learnt of the request.
	OAuth *OAuth
	// Verdicts are checks' judgements of the request's own body, made
	// while it was served (a PHD gateway's upload), kept on its entry.
	Verdicts []Verdict
}

// Issue is one OperationOutcome.issue of a recorded response.
type Issue struct {
	Severity    string
	Code        string
	Diagnostics string
	// Expression is the first issue.expression, or the first
	// issue.location when the issue has no expression.
	Expression string
}

// Store keeps entries, at most a bound per sandbox, newest kept.
// Implementations are safe for concurrent use.
type Store interface {
	// Append adds the entries in order, sets each one's ID, and drops the
	// oldest entries of any sandbox that exceeds its bound. It does not
	// retain the slice.
	Append(ctx context.Context, entries []Entry) error
	// Query returns the entries of one sandbox matching f, newest first.
	// An invalid filter yields an error wrapping ErrBadFilter.
	Query(ctx context.Context, f Filter) (Page, error)
	// DeleteSandbox removes every entry of a sandbox. Entries of it still
	// queued in a Recorder arrive afterwards unless the Recorder is
	// flushed first.
	DeleteSandbox(ctx context.Context, sandbox string) error
}

// Query limits.
const (
	DefaultLimit = 50  // entries per page when Filter.Limit is 0
	MaxLimit     = 500 // larger limits are lowered to this
)

// DefaultPerSandboxMax is the bound per sandbox when a store is given none.
const DefaultPerSandboxMax = 10000

// ErrBadFilter is wrapped by errors about a Filter that cannot be served.
var ErrBadFilter = errors.New("requestlog: bad filter")

// Filter selects entries of one sandbox. Zero fields match everything;
// set fields must all match.
type Filter struct {
	Sandbox      string // required
	ClientID     string
	Method       string // exact, e.g. "GET"
	Status       int    // exact status code
	StatusClass  int    // 1 to 5: 4 matches 400–499
	PathContains string // substring of Path, case-sensitive
	Connector    string // exact connector id
	RequestID    string // exact X-Request-Id, as a report's evidence names it
	Since        time.Time
	Until        time.Time // exclusive
	// Before is a cursor: only entries with an ID below it, as returned
	// in Page.Next. Zero starts at the newest entry.
	Before int64
	Limit  int // 0 means DefaultLimit; above MaxLimit means MaxLimit
}

// Page is one page of entries, newest first.
type Page struct {
	Entries []Entry
	// Next is the Filter.Before of the following page, 0 on the last.
	Next int64
}

// Normalized returns f with its limit resolved, or an error wrapping
// ErrBadFilter. Stores call it before querying.
func (f Filter) Normalized() (Filter, error) {
	switch {
	case f.Sandbox == "":
		return f, fmt.Errorf("%w: a sandbox is required", ErrBadFilter)
	case f.StatusClass < 0 || f.StatusClass > 5:
		return f, fmt.Errorf("%w: status class %d is not between 1 and 5", ErrBadFilter, f.StatusClass)
	case f.Limit < 0:
		return f, fmt.Errorf("%w: limit %d is negative", ErrBadFilter, f.Limit)
	case f.Before < 0:
		return f, fmt.Errorf("%w: cursor %d is negative", ErrBadFilter, f.Before)
	}
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	return f, nil
}

// Match reports whether e passes the filter's conditions other than the
// sandbox, the cursor and the limit.
func (f Filter) Match(e *Entry) bool {
	return (f.ClientID == "" || e.ClientID == f.ClientID) &&
		(f.Method == "" || e.Method == f.Method) &&
		(f.Status == 0 || e.Status == f.Status) &&
		(f.StatusClass == 0 || e.Status/100 == f.StatusClass) &&
		(f.PathContains == "" || strings.Contains(e.Path, f.PathContains)) &&
		(f.Connector == "" || e.Connector == f.Connector) &&
		(f.RequestID == "" || e.RequestID == f.RequestID) &&
		(f.Since.IsZero() || !e.Time.Before(f.Since)) &&
		(f.Until.IsZero() || e.Time.Before(f.Until))
}
