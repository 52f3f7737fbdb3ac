package jft

import (
	"net/http"
	"slices"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
)

// The ids of the connector's checks and profiles.
const (
	CheckSubmissionAccepted   = "jft-submission-accepted"
	CheckSubmissionIdentifier = "jft-submission-identifier"
	CheckStatusKnown          = "jft-status-known-submission"
	CheckReaderQuery          = "jft-reader-valid-query"
	CheckReadKnown            = "jft-read-known-submission"
	CheckAckOnce              = "jft-acknowledge-once"

	ProfileSender = "jft-sender"
	ProfileReader = "jft-reader"
)

// Checks implements connectors.CheckConnector.
func (c *Connector) Checks() []connectors.Check {
	return []connectors.Check{
		{ID: CheckSubmissionAccepted, Description: "A submission to the journaling service is valid FHIR R4 of the endpoint's type, within 1 MB, and taken (202 Accepted).",
			Judge: judgeSubmissionAccepted},
		{ID: CheckSubmissionIdentifier, Description: "A submission carries a business identifier (system and value), so that a retry after a lost answer is recognised and not journaled twice.",
			Judge: judgeSubmissionIdentifier},
		{ID: CheckStatusKnown, Description: "The sender asks $status of submissions it was given a Location for (no 404).",
			Judge: judgeOp(http.MethodGet, "$status")},
		{ID: CheckReaderQuery, Description: "The EHR side lists submissions with the parameters the service takes (_lastUpdated, _tag, _tag:not, _count) and follows the next links' cursor as given.",
			Judge: judgeReaderQuery},
		{ID: CheckReadKnown, Description: "The EHR side reads submissions the list gave it (no 404).",
			Judge: judgeOp(http.MethodGet, "")},
		{ID: CheckAckOnce, Description: "The EHR side acknowledges each submission it read once, as journaled or failed, and not a submission already acknowledged otherwise (no 404 or 409).",
			Judge: judgeOp(http.MethodPost, "$journaling-acknowledged")},
	}
}

// Profiles implements connectors.ProfileConnector.
func (c *Connector) Profiles() []connectors.CheckProfile {
	return []connectors.CheckProfile{
		{ID: ProfileSender, Title: "JFT sender",
			Description: "A system that submits documents and dispensings to the journaling service: valid, idempotent submissions and correct use of $status.",
			Checks:      []string{CheckSubmissionAccepted, CheckSubmissionIdentifier, CheckStatusKnown}},
		{ID: ProfileReader, Title: "JFT reader (EHR side)",
			Description: "An EHR that reads submissions from the journaling service and acknowledges them: valid listing and paging, reads of listed submissions, one acknowledgement each.",
			Checks:      []string{CheckReaderQuery, CheckReadKnown, CheckAckOnce}},
	}
}

// route splits an exchange's path below the API: the type and the rest
// ("" for the type's endpoint, "{id}", "{id}/$status"…); ok is false for
// an exchange of another connector or outside the API.
func route(x *connectors.Exchange) (typ string, rest []string, ok bool) {
	if x.Connector != ID {
		return "", nil, false
	}
	i := strings.LastIndex(x.Path, apiPath+"/")
	if i < 0 {
		return "", nil, false
	}
	parts := strings.Split(x.Path[i+len(apiPath)+1:], "/")
	if !slices.Contains(Types, parts[0]) {
		return "", nil, false
	}
	return parts[0], parts[1:], true
}

// refusedForAuth are statuses of refusals that are about the token, which
// other checks (and the gateway's) judge.
func refusedForAuth(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

func isSubmission(x *connectors.Exchange) bool {
	_, rest, ok := route(x)
	return ok && x.Kind == http.MethodPost && len(rest) == 0 && !refusedForAuth(x.Status)
}

func fail(code outcome.Code, expr, format string, args ...any) connectors.Result {
	is := outcome.New(outcome.Incorrect, code, format, args...).Issues[0]
	if expr != "" {
		is.Expression = []string{expr}
	}
	return connectors.Result{Verdict: connectors.Fail, Issues: []outcome.Issue{is}}
}

func judgeSubmissionAccepted(x *connectors.Exchange) connectors.Result {
	if !isSubmission(x) {
		return connectors.Result{Verdict: connectors.NotApplicable}
	}
	if x.Status == http.StatusAccepted {
		return connectors.Result{Verdict: connectors.Pass}
	}
	return fail(outcome.Invalid, "", "the submission was refused with status %d", x.Status)
}

func judgeSubmissionIdentifier(x *connectors.Exchange) connectors.Result {
	if !isSubmission(x) || x.Status != http.StatusAccepted {
		return connectors.Result{Verdict: connectors.NotApplicable}
	}
	typ, ident, err := head(x.Request)
	if err != nil {
		return connectors.Result{Verdict: connectors.NotApplicable}
	}
	if ident == "" {
		return fail(outcome.Required, typ+".identifier",
			"the %s has no business identifier with system and value: a retry after a lost answer would be journaled twice", typ)
	}
	return connectors.Result{Verdict: connectors.Pass}
}

// judgeOp judges the exchanges of one operation on a submission ("" for
// reading it): passed unless the submission was unknown or the operation
// conflicted with its state.
func judgeOp(method, op string) func(x *connectors.Exchange) connectors.Result {
	return func(x *connectors.Exchange) connectors.Result {
		_, rest, ok := route(x)
		want := 1
		if op != "" {
			want = 2
		}
		if !ok || x.Kind != method || len(rest) != want || (op != "" && rest[1] != op) || refusedForAuth(x.Status) {
			return connectors.Result{Verdict: connectors.NotApplicable}
		}
		switch x.Status {
		case http.StatusOK:
			return connectors.Result{Verdict: connectors.Pass}
		case http.StatusNotFound:
			return fail(outcome.NotFound, "", "%s asked about a submission the service does not have (404)", x.Path)
		case http.StatusConflict:
			return fail(outcome.Conflict, "", "%s conflicted with the submission's state: it was already acknowledged otherwise (409)", x.Path)
		}
		return fail(outcome.Invalid, "", "%s was refused with status %d", x.Path, x.Status)
	}
}

func judgeReaderQuery(x *connectors.Exchange) connectors.Result {
	_, rest, ok := route(x)
	if !ok || x.Kind != http.MethodGet || len(rest) != 0 || refusedForAuth(x.Status) {
		return connectors.Result{Verdict: connectors.NotApplicable}
	}
	if x.Status == http.StatusOK {
		return connectors.Result{Verdict: connectors.Pass}
	}
	return fail(outcome.Invalid, "", "the listing was refused with status %d: a parameter the service does not take, or a cursor not as given", x.Status)
}
