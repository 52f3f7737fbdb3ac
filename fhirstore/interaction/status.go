package interaction

import (
	"strconv"

	"hpsandbox/fhirstore/outcome"
)

// statuses maps each error category to the HTTP status code FHIR answers
// it with. It is the one such mapping: the HTTP adapter answers with it
// (sandbox/fhirapi.Status) and a batch or transaction response records it
// in Bundle.entry.response.status, which FHIR defines as an HTTP status.
var statuses = map[outcome.Category]status{
	outcome.Incorrect:          {400, "Bad Request"},
	outcome.Unauthenticated:    {401, "Unauthorized"},
	outcome.Denied:             {403, "Forbidden"},
	outcome.Missing:            {404, "Not Found"},
	outcome.NotAllowed:         {405, "Method Not Allowed"},
	outcome.NotAcceptable:      {406, "Not Acceptable"},
	outcome.Conflicting:        {409, "Conflict"},
	outcome.Gone:               {410, "Gone"},
	outcome.PreconditionFailed: {412, "Precondition Failed"},
	outcome.TooLarge:           {413, "Request Entity Too Large"},
	outcome.UnsupportedMedia:   {415, "Unsupported Media Type"},
	outcome.Unprocessable:      {422, "Unprocessable Entity"},
	outcome.Throttled:          {429, "Too Many Requests"},
	outcome.Fault:              {500, "Internal Server Error"},
	outcome.Unimplemented:      {501, "Not Implemented"},
	outcome.Busy:               {503, "Service Unavailable"},
}

type status struct {
	code int
	text string
}

func statusOf(err error) status {
	if s, ok := statuses[outcome.CategoryOf(err)]; ok {
		return s
	}
	return statuses[outcome.Fault]
}

// Status returns the HTTP status code that answers err: that of its
// category (outcome.CategoryOf), 500 for an error without one.
func Status(err error) int { return statusOf(err).code }

// StatusLine returns the status code and its reason phrase ("404 Not
// Found"), as Bundle.entry.response.status carries them.
func StatusLine(err error) string {
	s := statusOf(err)
	return strconv.Itoa(s.code) + " " + s.text
}
