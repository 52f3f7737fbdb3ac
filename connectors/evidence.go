package connectors

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/requestlog"
)

// Recorder takes request-log entries; *requestlog.Recorder is one. Record
// must not block.
type Recorder interface {
	Record(e requestlog.Entry)
}

// Exchange is one message a connector received and what it answered: what
// the request log records of it (Entry) and what a Check judges.
type Exchange struct {
	Sandbox  string
	ClientID string // the token's app, "" without a token
	Scopes   string // the token's scopes, space-separated
	// Connector is the connector's id.
	Connector string
	// Channel is requestlog.ChannelHTTP or a message transport
	// (requestlog.ChannelMLLP).
	Channel string
	// Kind is the HTTP method, or the message's type ("ORU^R01").
	Kind string
	// Path is the URL path, or the channel's name or address for a
	// message.
	Path  string
	Start time.Time
	// Latency is how long the answer took; Evidence.Record sets it when
	// it is zero.
	Latency time.Duration
	// Status is the HTTP status of the answer. A message's answer sets
	// Ack instead, and Status follows from it unless set (AckStatus).
	Status int
	Ack    string // an HL7 v2 acknowledgment code: AA, AE, AR (or CA, CE, CR)
	// Issues explain a refusal; when empty, the issues are read from an
	// OperationOutcome in Response.
	Issues    []outcome.Issue
	RequestID string // the X-Request-Id the gateway answered with, if any

	RequestBytes, ResponseBytes int64
	// Request and Response are the bodies, for checks; the request log
	// keeps neither (only the issues of an error answer). Either may be
	// cut short for a large body.
	Request      []byte
	Response     []byte
	ResponseType string // the answer's media type, e.g. application/fhir+json
}

// AckStatus is the HTTP status an HL7 v2 acknowledgment code stands for in
// the request log: accepted 200, error 422, rejected 400; 0 for a code it
// does not know.
func AckStatus(ack string) int {
	switch ack {
	case "AA", "CA":
		return http.StatusOK
	case "AE", "CE":
		return http.StatusUnprocessableEntity
	case "AR", "CR":
		return http.StatusBadRequest
	}
	return 0
}

// Entry is x as the request log records it.
func (x *Exchange) Entry() requestlog.Entry {
	status := x.Status
	if status == 0 {
		status = AckStatus(x.Ack)
	}
	e := requestlog.Entry{
		Sandbox:       x.Sandbox,
		Time:          x.Start.UTC(),
		ClientID:      x.ClientID,
		Method:        x.Kind,
		Path:          x.Path,
		Status:        status,
		Latency:       x.Latency,
		RequestBytes:  x.RequestBytes,
		ResponseBytes: x.ResponseBytes,
		Scopes:        x.Scopes,
		RequestID:     x.RequestID,
		Connector:     x.Connector,
		Channel:       x.Channel,
	}
	switch {
	case len(x.Issues) > 0:
		// Through the log's own parser, which bounds what it keeps.
		e.AttachOutcome("application/fhir+json", outcome.JSON(x.Issues))
	case status >= 400 || x.Ack != "" && x.Ack != "AA" && x.Ack != "CA":
		e.AttachOutcome(x.ResponseType, x.Response)
	}
	return e
}

// Evidence records a connector's exchanges in the request log. A nil
// *Evidence, or one without a Recorder, records nothing.
type Evidence struct {
	rec       Recorder
	connector string
	now       func() time.Time
	checks    *checkList // the connector's checks, nil when none
}

// NewEvidence returns the Evidence of connector, recording into rec.
// now is the clock (time.Now when nil).
func NewEvidence(rec Recorder, connector string, now func() time.Time) *Evidence {
	if now == nil {
		now = time.Now
	}
	return &Evidence{rec: rec, connector: connector, now: now}
}

// Now is the Evidence's clock, for Exchange.Start.
func (ev *Evidence) Now() time.Time {
	if ev == nil || ev.now == nil {
		return time.Now()
	}
	return ev.now()
}

// Record records x, naming the connector and measuring the latency from
// x.Start when they are not set. An exchange without a sandbox (one the
// connector refused before knowing it) is not recorded: the log is kept
// per sandbox.
func (ev *Evidence) Record(x *Exchange) {
	if ev == nil || ev.rec == nil || x.Sandbox == "" {
		return
	}
	if x.Connector == "" {
		x.Connector = ev.connector
	}
	if x.Latency == 0 && !x.Start.IsZero() {
		x.Latency = ev.now().Sub(x.Start)
	}
	e := x.Entry()
	if ev.checks != nil {
		e.Verdicts = Judge(ev.checks.checks, x)
	}
	ev.rec.Record(e)
}

// maxVerdictMessage bounds a verdict's message in the request log.
const maxVerdictMessage = 300

// Judge judges x with every check and returns the verdicts of those that
// were about it, as the request log keeps them: the log has no bodies, so
// checks are run when a message arrives and a conformance run reads their
// verdicts. A check that panics fails, naming the panic, rather than
// taking the connector down.
func Judge(checks []Check, x *Exchange) []requestlog.Verdict {
	var out []requestlog.Verdict
	for _, c := range checks {
		res := judgeOne(c, x)
		if res.Verdict == NotApplicable {
			continue
		}
		v := requestlog.Verdict{Check: c.ID, Pass: res.Verdict == Pass}
		if len(res.Issues) > 0 {
			v.Message = cut(IssueText(res.Issues[0]), maxVerdictMessage)
		}
		out = append(out, v)
	}
	return out
}

func judgeOne(c Check, x *Exchange) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Result{Verdict: Fail, Issues: []outcome.Issue{{Severity: outcome.ErrorLevel, Code: outcome.Exception,
				Diagnostics: fmt.Sprintf("the check %s failed on this message: %v", c.ID, p)}}}
		}
	}()
	return c.Judge(x)
}

// IssueText is an issue in words: its diagnostics and, in parentheses,
// the elements it names.
func IssueText(is outcome.Issue) string {
	s := is.Diagnostics
	if len(is.Expression) > 0 {
		s += " (" + strings.Join(is.Expression, ", ") + ")"
	}
	return s
}

// cut cuts s to at most n bytes at a character boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
