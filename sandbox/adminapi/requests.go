package adminapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/connectors"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// entryJSON is one request-log entry as the API shows it.
type entryJSON struct {
	ID            int64         `json:"id"`
	Time          time.Time     `json:"time"`
	ClientID      string        `json:"client_id,omitempty"`
	Method        string        `json:"method"`
	Path          string        `json:"path"`
	Query         string        `json:"query,omitempty"`
	Status        int           `json:"status"`
	LatencyMS     float64       `json:"latency_ms"`
	RequestBytes  int64         `json:"request_bytes"`
	ResponseBytes int64         `json:"response_bytes"`
	Issues        []issueJSON   `json:"issues,omitempty"`
	Scopes        string        `json:"scopes,omitempty"`
	RequestID     string        `json:"request_id,omitempty"`
	Connector     string        `json:"connector,omitempty"`
	Channel       string        `json:"channel,omitempty"`
	Accept        string        `json:"accept,omitempty"`
	Preconditions string        `json:"preconditions,omitempty"`
	RetryAfterS   int64         `json:"retry_after_s,omitempty"`
	OAuth         *oauthJSON    `json:"oauth,omitempty"`
	Verdicts      []verdictJSON `json:"verdicts,omitempty"`
}

// verdictJSON is a connector check's judgement of the message.
type verdictJSON struct {
	Check   string `json:"check"`
	Pass    bool   `json:"pass"`
	Message string `json:"message,omitempty"`
}

// oauthJSON is what the authorization server learnt of a request to its
// endpoints (requestlog.OAuth): facts, never a credential.
type oauthJSON struct {
	Endpoint          string `json:"endpoint"`
	ResponseType      string `json:"response_type,omitempty"`
	PKCEMethod        string `json:"pkce_method,omitempty"`
	Challenge         bool   `json:"code_challenge_sent,omitempty"`
	StateLen          int    `json:"state_length,omitempty"`
	StateBits         int    `json:"state_entropy_bits,omitempty"`
	RedirectURI       string `json:"redirect_uri,omitempty"`
	RedirectExact     bool   `json:"redirect_uri_registered,omitempty"`
	Scope             string `json:"scope,omitempty"`
	Aud               string `json:"aud,omitempty"`
	AudMatches        bool   `json:"aud_is_fhir_base,omitempty"`
	Launch            bool   `json:"launch,omitempty"`
	GrantType         string `json:"grant_type,omitempty"`
	ClientAuth        string `json:"client_auth,omitempty"`
	Verifier          bool   `json:"code_verifier_sent,omitempty"`
	AssertionAlg      string `json:"assertion_alg,omitempty"`
	AssertionLifetime int64  `json:"assertion_lifetime_s,omitempty"`
	AssertionIssSub   bool   `json:"assertion_iss_sub_client,omitempty"`
	AssertionJTI      bool   `json:"assertion_jti_sent,omitempty"`
	JTIReplayed       bool   `json:"assertion_jti_replayed,omitempty"`
	Error             string `json:"error,omitempty"`
}

// issueJSON is one OperationOutcome issue of a logged error response.
type issueJSON struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
	Expression  string `json:"expression,omitempty"`
}

// requestPageJSON is one page of the log, newest first. Next is the
// cursor to pass as before for the following page; Dropped counts
// entries the recorder dropped under load since the server started.
type requestPageJSON struct {
	Entries []entryJSON `json:"entries"`
	Next    string      `json:"next,omitempty"`
	Dropped *uint64     `json:"dropped,omitempty"`
}

func toEntryJSON(e *requestlog.Entry) entryJSON {
	v := entryJSON{ID: e.ID, Time: e.Time.UTC(), ClientID: e.ClientID, Method: e.Method, Path: e.Path,
		Query: e.Query, Status: e.Status, LatencyMS: float64(e.Latency.Microseconds()) / 1000,
		RequestBytes: e.RequestBytes, ResponseBytes: e.ResponseBytes, Scopes: e.Scopes, RequestID: e.RequestID,
		Connector: e.Connector, Channel: e.Channel, Accept: e.Accept, Preconditions: e.Preconditions,
		RetryAfterS: int64(e.RetryAfter / time.Second)}
	for _, vd := range e.Verdicts {
		v.Verdicts = append(v.Verdicts, verdictJSON(vd))
	}
	if e.OAuth != nil {
		o := oauthJSON(*e.OAuth)
		v.OAuth = &o
	}
	for _, is := range e.Issues {
		v.Issues = append(v.Issues, issueJSON(is))
	}
	return v
}

func (a *API) listRequests(c *gin.Context, who *tenant.Account) error {
	// Visibility first: a supplier asking about another's sandbox gets the
	// same 404 whatever its query says.
	if err := a.visibleSandbox(c, who); err != nil {
		return err
	}
	f, err := parseFilter(c.Param("id"), c.Request.URL.Query())
	if err != nil {
		return err
	}
	page, err := a.d.Requests.Query(c.Request.Context(), f)
	if err != nil {
		return err
	}
	out := requestPageJSON{Entries: make([]entryJSON, len(page.Entries))}
	for i := range page.Entries {
		out.Entries[i] = toEntryJSON(&page.Entries[i])
	}
	if page.Next > 0 {
		out.Next = strconv.FormatInt(page.Next, 10)
	}
	if a.d.Dropped != nil {
		n := a.d.Dropped()
		out.Dropped = &n
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// Bounds of the request-log query parameters.
const (
	maxFilterParam = 1024 // bytes of client_id and path
	maxMethodLen   = 20
)

// filterParams are the query parameters of the requests endpoint.
var filterParams = []string{"client_id", "connector", "method", "status", "path", "request_id", "since", "until", "before", "limit"}

// parseFilter reads the query of GET /sandboxes/{id}/requests into a
// filter of sandbox's log. It refuses unknown and repeated parameters, so
// that a misspelt one does not silently widen the search, and reports
// every bad parameter at once.
func parseFilter(sandbox string, q url.Values) (requestlog.Filter, error) {
	f := requestlog.Filter{Sandbox: sandbox}
	var errs []FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names) // one order of errors for one query
	for _, name := range names {
		vs := q[name]
		if name == "" {
			continue // "?=x" or a stray "&=": selects nothing
		}
		if !slices.Contains(filterParams, name) {
			bad(name, "unknown parameter; the parameters are %s", strings.Join(filterParams, ", "))
			continue
		}
		if len(vs) > 1 {
			bad(name, "given %d times; give it once", len(vs))
			continue
		}
		if err := setFilterParam(&f, name, vs[0]); err != "" {
			bad(name, "%s", err)
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		bad("until", "%s is not after since (%s)", f.Until.Format(time.RFC3339Nano), f.Since.Format(time.RFC3339Nano))
	}
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Field + ": " + e.Message
		}
		return f, problem(kindBadRequest, strings.Join(msgs, "; "), errs...)
	}
	return f, nil
}

// setFilterParam sets one parameter of f, or says what is wrong with v.
func setFilterParam(f *requestlog.Filter, name, v string) string {
	switch name {
	case "client_id", "path", "request_id":
		if v == "" || len(v) > maxFilterParam {
			return fmt.Sprintf("want 1–%d bytes", maxFilterParam)
		}
		switch name {
		case "path":
			f.PathContains = v
		case "request_id":
			f.RequestID = v
		default:
			f.ClientID = v
		}
	case "connector":
		if !connectors.ValidID(v) {
			return fmt.Sprintf("%q: want a connector id, 1–32 lower-case letters, digits and hyphens", v)
		}
		f.Connector = v
	case "method":
		m := strings.ToUpper(v)
		if m == "" || len(m) > maxMethodLen || strings.TrimLeft(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return fmt.Sprintf("%q: want an HTTP method such as GET or POST", v)
		}
		f.Method = m
	case "status":
		return parseStatus(f, v)
	case "since", "until":
		// An offset's "+" sent unescaped arrives as a space; RFC 3339 has
		// no spaces, so it can only have been a "+".
		t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+"))
		if err != nil {
			return fmt.Sprintf("%q: want an RFC 3339 time such as 2025-01-31T13:45:00Z", v)
		}
		if name == "since" {
			f.Since = t
		} else {
			f.Until = t
		}
	case "before":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Sprintf("%q: want the next cursor of an earlier page", v)
		}
		f.Before = n
	case "limit":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > requestlog.MaxLimit {
			return fmt.Sprintf("%q: want 1 to %d entries", v, requestlog.MaxLimit)
		}
		f.Limit = n
	}
	return ""
}

// parseStatus reads a status code (404) or class (4xx).
func parseStatus(f *requestlog.Filter, v string) string {
	want := fmt.Sprintf("%q: want a status code (404) or class (4xx) from 100 to 599", v)
	if len(v) != 3 || v[0] < '1' || v[0] > '5' {
		return want
	}
	if rest := strings.ToLower(v[1:]); rest == "xx" {
		f.StatusClass = int(v[0] - '0')
		return ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 100 || n > 599 {
		return want
	}
	f.Status = n
	return ""
}
