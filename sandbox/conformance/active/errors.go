package active

import (
	"context"
	"strings"

	"hpsandbox/sandbox/conformance"
)

// Specification sections the error tests cite.
const (
	citeHTTPStatus = "https://hl7.org/fhir/R4/http.html#Status-Codes"
	citeSearchErr  = "https://hl7.org/fhir/R4/search.html#errors"
	citeBearer     = "https://www.rfc-editor.org/rfc/rfc6750#section-3"
	citeBearerErr  = "https://www.rfc-editor.org/rfc/rfc6750#section-3.1"
	citeMIME       = "https://hl7.org/fhir/R4/http.html#search"
)

// missingID is an id no server holds: it is not what a server makes.
const missingID = "hps-active-no-such-id-0"

func errorTests() []Test {
	return []Test{
		{ID: "active.error-401-no-token", Title: "A secured server answers a request without a token with 401 and WWW-Authenticate",
			Cite: citeBearer, Severity: conformance.SeverityError, Run: testNoToken},
		{ID: "active.error-401-invalid-token", Title: "A token the server did not issue answers 401 with error=\"invalid_token\"",
			Cite: citeBearerErr, Severity: conformance.SeverityError, Run: testInvalidToken},
		{ID: "active.error-404-operationoutcome", Title: "Reading an unknown id answers 404 with an OperationOutcome",
			Cite: citeHTTPStatus, Severity: conformance.SeverityError, Needs: []Need{NeedAccess}, Run: testUnknownID},
		{ID: "active.error-400-operationoutcome", Title: "A malformed search value answers 400 with an OperationOutcome",
			Cite: citeSearchErr, Severity: conformance.SeverityError, Needs: []Need{NeedAccess}, Run: testMalformedSearch},
		{ID: "active.error-415-operationoutcome", Title: "A body of the wrong media type answers 415 (or 400) with an OperationOutcome",
			Cite: citeMIME, Severity: conformance.SeverityError, Needs: []Need{NeedAccess}, Run: testWrongContentType},
	}
}

func testNoToken(ctx context.Context, s *Session) conformance.Result {
	r, err := s.send(ctx, request{Method: "GET", URL: "Patient?_count=1"})
	if err != nil {
		return fail("no answer: %v", err)
	}
	if r.Status == 200 {
		s.open = true
		return skip("the server answers a search without a token: it is open, not secured")
	}
	if r.Status != 401 {
		return fail("answered %d, not 401", r.Status)
	}
	if ch := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(strings.ToLower(ch), "bearer") {
		return fail("401 without a WWW-Authenticate: Bearer challenge (got %q)", ch)
	}
	return pass("401 with WWW-Authenticate: %s", r.Header.Get("WWW-Authenticate"))
}

// forgedToken is a bearer token no server issued: a JWT-shaped string
// whose signature is nobody's.
const forgedToken = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJocHMtYWN0aXZlIn0.bm90LWEtc2lnbmF0dXJl"

func testInvalidToken(ctx context.Context, s *Session) conformance.Result {
	r, err := s.send(ctx, request{Method: "GET", URL: "Patient?_count=1", Token: forgedToken})
	if err != nil {
		return fail("no answer: %v", err)
	}
	if r.Status != 401 {
		return fail("a forged bearer token answered %d, not 401", r.Status)
	}
	ch := r.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(strings.ToLower(ch), "bearer") || !strings.Contains(ch, "invalid_token") {
		return fail("401 without a WWW-Authenticate: Bearer challenge naming invalid_token (got %q)", ch)
	}
	return pass("a forged bearer token: 401 with WWW-Authenticate: %s", ch)
}

// judgeError passes an answer of one of the statuses with an
// OperationOutcome.
func judgeError(r *reply, err error, what string, statuses ...int) conformance.Result {
	if err != nil {
		return fail("%s: no answer: %v", what, err)
	}
	ok := false
	for _, st := range statuses {
		ok = ok || r.Status == st
	}
	if !ok {
		return fail("%s: answered %d", what, r.Status)
	}
	if p := r.outcomeProblem(); p != "" {
		return fail("%s: answered %d, but %s", what, r.Status, p)
	}
	return pass("%s: %d with an OperationOutcome", what, r.Status)
}

func testUnknownID(ctx context.Context, s *Session) conformance.Result {
	r, err := s.get(ctx, "Patient/"+missingID)
	return judgeError(r, err, "Patient/"+missingID, 404)
}

func testMalformedSearch(ctx context.Context, s *Session) conformance.Result {
	r, err := s.get(ctx, "Patient?birthdate=not-a-date")
	return judgeError(r, err, "Patient?birthdate=not-a-date", 400)
}

func testWrongContentType(ctx context.Context, s *Session) conformance.Result {
	// A search by POST, whose body must be a form: no write is risked.
	r, err := s.send(ctx, request{Method: "POST", URL: "Patient/_search", Token: s.token, ContentType: "text/plain",
		Body: "name=a"})
	return judgeError(r, err, "POST Patient/_search with a text/plain body", 415, 400)
}
