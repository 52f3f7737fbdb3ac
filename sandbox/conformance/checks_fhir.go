package conformance

import (
	"mime"
	"strconv"
	"strings"

	"hpsandbox/sandbox/requestlog"
)

// Specification sections the FHIR client checks cite.
const (
	citeMimeType    = "https://hl7.org/fhir/R4/http.html#mime-type"
	citePaging      = "https://hl7.org/fhir/R4/http.html#paging"
	citeCount       = "https://hl7.org/fhir/R4/search.html#count"
	citeCreate      = "https://hl7.org/fhir/R4/http.html#create"
	citeConditional = "https://hl7.org/fhir/R4/http.html#ccreate"
)

// maxCount is the largest page the sandbox's FHIR API gives.
const maxCount = 1000

// inventedPaging are query parameters a client makes up to page instead
// of following a Bundle's next link, which pages with _cursor.
var inventedPaging = []string{"_offset", "offset", "page", "_page", "_skip", "skip", "_getpagesoffset"}

// isSearch is a search of a type or a compartment, GET or POST _search.
func isSearch(e *requestlog.Entry, v *view) bool {
	if !v.fhir || v.typ == "" {
		return false
	}
	segs := strings.Count(strings.Trim(v.rest, "/"), "/") + 1
	switch e.Method {
	case "GET":
		// /Type, or /Patient/1/Observation (a compartment)
		return segs == 1 || segs == 3 && !strings.Contains(v.rest, "/_history")
	case "POST":
		return strings.HasSuffix(v.rest, "/_search")
	}
	return false
}

// fhirChecks judge a client's use of the FHIR API.
func fhirChecks() []Check {
	return []Check{
		{ID: "fhir.accept-fhir-json", Title: "Asks for application/fhir+json", Cite: citeMimeType, Severity: SeverityWarning,
			Evaluate: func(ev *Evidence) Result {
				// The well-known documents are plain JSON, not FHIR.
				return judgeEach(ev, func(_ *requestlog.Entry, v *view) bool {
					return v.fhir && !strings.HasPrefix(v.rest, "/.well-known/")
				}, asksFHIRJSON,
					"FHIR requests", "ask for application/fhir+json (by Accept or _format)")
			}},
		{ID: "fhir.follows-next-link", Title: "Pages by following the Bundle's next link, not by inventing offsets", Cite: citePaging,
			Severity: SeverityWarning,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, func(e *requestlog.Entry, v *view) bool {
					if !isSearch(e, v) {
						return false
					}
					q := queryParams(e)
					return q.Has("_cursor") || hasAny(q.Has, inventedPaging)
				}, func(e *requestlog.Entry, _ *view) bool {
					return !hasAny(queryParams(e).Has, inventedPaging)
				}, "searches for a further page", "follow the next link (_cursor) rather than inventing an offset")
			}},
		{ID: "fhir.count-valid", Title: "Asks for page sizes the server gives (_count from 0 to 1000)", Cite: citeCount,
			Severity: SeverityWarning,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, func(e *requestlog.Entry, v *view) bool {
					return isSearch(e, v) && queryParams(e).Has("_count")
				}, func(e *requestlog.Entry, _ *view) bool {
					for _, s := range queryParams(e)["_count"] {
						if n, err := strconv.Atoi(s); err != nil || n < 0 || n > maxCount {
							return false
						}
					}
					return true
				}, "searches with _count", "ask for a whole number from 0 to 1000")
			}},
		{ID: "fhir.valid-writes", Title: "Writes carry resources the server accepts as valid", Cite: citeCreate, Severity: SeverityError,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, isWrite, func(e *requestlog.Entry, _ *view) bool {
					return e.Status != 400 && e.Status != 422
				}, "creates and updates", "carry a resource the server accepts (no 400 or 422)")
			}},
		{ID: "fhir.safe-retries", Title: "Creates are conditional (If-None-Exist) and updates name the version (If-Match)",
			Cite: citeConditional, Severity: SeverityWarning,
			Evaluate: func(ev *Evidence) Result {
				return judgeEach(ev, isWrite, func(e *requestlog.Entry, _ *view) bool {
					if e.Method == "POST" {
						return strings.Contains(e.Preconditions, "If-None-Exist")
					}
					return strings.Contains(e.Preconditions, "If-Match")
				}, "creates and updates", "guard against a retry (If-None-Exist on a create, If-Match on an update)")
			}},
	}
}

// isWrite is a create (POST to a type) or update (PUT to an instance).
func isWrite(e *requestlog.Entry, v *view) bool {
	if !v.fhir || v.typ == "" || strings.Contains(v.rest, "/$") || strings.Contains(v.rest, "/_search") {
		return false
	}
	segs := strings.Count(strings.Trim(v.rest, "/"), "/") + 1
	return e.Method == "POST" && segs == 1 || e.Method == "PUT" && segs == 2
}

// asksFHIRJSON reports whether a request asks for FHIR JSON by Accept or
// by _format.
func asksFHIRJSON(e *requestlog.Entry, _ *view) bool {
	for part := range strings.SplitSeq(e.Accept, ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/fhir+json" {
			return true
		}
	}
	if strings.Contains(e.Query, "_format=") {
		switch queryParams(e).Get("_format") {
		case "json", "application/fhir+json":
			return true
		}
	}
	return false
}

func hasAny(has func(string) bool, names []string) bool {
	for _, n := range names {
		if has(n) {
			return true
		}
	}
	return false
}
