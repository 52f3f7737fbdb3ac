package vkp

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
)

// ErrNotSynthetic marks the refusal of a submission that carries a
// national identity number the test-data guard does not take.
var ErrNotSynthetic = errors.New("vkp: an identity number is not synthetic")

// ReadTypes are the resource types the hub serves to suppliers.
var ReadTypes = []string{"Patient", "EpisodeOfCare", "CarePlan"}

func (c *Connector) postBundle(w http.ResponseWriter, r *http.Request) {
	caller, body, ok := admit(w, r)
	if !ok {
		return
	}
	m, err := c.municipality(r.PathValue("orgnr"))
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	bundle := ReadBundle(body)
	for _, typ := range bundle.EntryTypes() {
		if err := c.opts.Authorize(caller, m, typ, true); err != nil {
			connectors.WriteOutcome(w, err)
			return
		}
	}
	f, allow := c.faults.Next(r.Context(), caller)
	if c.faults.Inject(w, r, f) {
		return
	}
	s, err := bundle.Parse(append(slices.Clone(c.opts.Allow), allow...), Alarm, Supervision, Dispense, Measurements)
	if err != nil {
		if errors.Is(err, ErrNotSynthetic) {
			// Where, never what: the number may be a real person's.
			c.log.Warn("vkp: refused a submission with identity numbers that are not synthetic",
				"sandbox", caller.Sandbox, "orgnr", m.OrgNumber, "elements", issueList(outcome.From(err)))
		}
		connectors.WriteOutcome(w, err)
		return
	}
	s.Municipality = m
	resp, err := Deliver(r.Context(), c.engine, caller.Sandbox, s, ID, f.Duplicate())
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// readable checks the path's municipality and resource type and the
// caller's access to them, and returns the municipality's scope.
func (c *Connector) readable(w http.ResponseWriter, r *http.Request) (connectors.Caller, string, *scope, bool) {
	caller, ok := connectors.CallerFrom(r.Context())
	if !ok {
		connectors.WriteOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "no sandbox for the request"))
		return caller, "", nil, false
	}
	m, err := c.municipality(r.PathValue("orgnr"))
	if err != nil {
		connectors.WriteOutcome(w, err)
		return caller, "", nil, false
	}
	typ := r.PathValue("resource")
	if !slices.Contains(ReadTypes, typ) {
		connectors.WriteOutcome(w, outcome.New(outcome.Missing, outcome.NotFound,
			"the hub serves %s, not %q", strings.Join(ReadTypes, ", "), clip(typ)))
		return caller, "", nil, false
	}
	if err := c.opts.Authorize(caller, m, typ, false); err != nil {
		connectors.WriteOutcome(w, err)
		return caller, "", nil, false
	}
	return caller, typ, c.scopeOf(caller.Sandbox, m), true
}

func (c *Connector) read(w http.ResponseWriter, r *http.Request) {
	caller, typ, sc, ok := c.readable(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	res, err := c.engine.Read(r.Context(), sandboxKey(caller.Sandbox), typ, id)
	if err == nil && !sc.holds(r.Context(), typ, res.Body) {
		// As if it were not there: another municipality's record is not
		// this one's to know of.
		err = outcome.New(outcome.Missing, outcome.NotFound, "%s/%s is not known to %s's record", typ, clip(id), sc.m.Name)
	}
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	if typ == "Patient" {
		if issues := BasisIssues(res.ID, res.Body); len(issues) > 0 {
			// A read has no place for them in FHIR; the operator hears.
			c.log.Warn("vkp: a Patient served breaks the basis profile", "sandbox", caller.Sandbox, "patient", res.ID, "issues", issueList(&outcome.Error{Issues: issues}))
		}
	}
	w.Header().Set("ETag", res.ETag())
	writeJSON(w, http.StatusOK, res.Body)
}

func (c *Connector) search(w http.ResponseWriter, r *http.Request) {
	caller, typ, sc, ok := c.readable(w, r)
	if !ok {
		return
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			connectors.WriteOutcome(w, outcome.New(outcome.UnsupportedMedia, outcome.NotSupported,
				"a _search takes its parameters as application/x-www-form-urlencoded, not %s", clip(ct)))
			return
		}
		_, body, ok := admit(w, r)
		if !ok {
			return
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.Structure, "the body is not a form: %s", clip(err.Error())))
			return
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	for k := range params {
		if strings.HasPrefix(k, "_include") || strings.HasPrefix(k, "_revinclude") {
			connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.NotSupported,
				"the hub does not include other resources (%s): it serves %s only", clip(k), strings.Join(ReadTypes, ", ")))
			return
		}
		if k == "_summary" || k == "_elements" || k == "_contained" {
			connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.NotSupported,
				"the hub does not take %s: it serves the municipality's records only, which it tells by the whole resource", k))
			return
		}
	}
	page, err := sc.search(r.Context(), typ, params)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	page.Matches = Reorder(c.faults.Order(r.Context(), caller.Sandbox, params.Get("_cursor"), len(page.Matches)), page.Matches)
	var warnings []outcome.Issue
	if typ == "Patient" {
		for _, m := range page.Matches {
			warnings = append(warnings, BasisIssues(m.ID, m.Body)...)
		}
	}
	writeJSON(w, http.StatusOK, searchset(r, params, page, warnings))
}

// searchset renders a page as a Bundle whose links and fullUrls are the
// hub's own addresses.
func searchset(r *http.Request, params url.Values, page *fhirstore.SearchPage, warnings []outcome.Issue) []byte {
	self := requestURL(r)
	base := strings.TrimSuffix(self.Path, "/_search")
	base = base[:strings.LastIndex(base, "/")] // without the type
	link := func(rel, cursor string) map[string]any {
		u := *self
		u.Path = strings.TrimSuffix(u.Path, "/_search")
		q := url.Values{}
		for k, vs := range params {
			if k != "_cursor" {
				q[k] = vs
			}
		}
		if cursor != "" {
			q.Set("_cursor", cursor)
		}
		u.RawQuery = q.Encode()
		return map[string]any{"relation": rel, "url": u.String()}
	}
	links := []any{link("self", params.Get("_cursor"))}
	if page.Next != "" {
		links = append(links, link("next", page.Next))
	}
	if page.Prev != "" {
		links = append(links, link("previous", page.Prev))
	}
	entries := make([]any, 0, len(page.Matches))
	for _, m := range page.Matches {
		u := *self
		u.Path, u.RawQuery = base+"/"+m.Type+"/"+m.ID, ""
		entries = append(entries, map[string]any{"fullUrl": u.String(), "resource": json.RawMessage(m.Body), "search": map[string]any{"mode": "match"}})
	}
	if len(warnings) > 0 {
		// FHIR's place for what a server has to say about a search's
		// results: an OperationOutcome entry of search mode outcome.
		entries = append(entries, map[string]any{"resource": json.RawMessage(outcome.JSON(warnings)), "search": map[string]any{"mode": "outcome"}})
	}
	b := map[string]any{"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}
	if page.Total >= 0 {
		b["total"] = page.Total
	}
	out, _ := json.Marshal(b)
	return out
}

// requestURL is the URL the client asked for: the connector is served
// below a prefix that its routes do not see, which RequestURI keeps.
func requestURL(r *http.Request) *url.URL {
	u, err := url.ParseRequestURI(r.RequestURI)
	if err != nil || u.Path == "" {
		u = &url.URL{Path: r.URL.Path}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host, Path: u.Path, RawQuery: u.RawQuery}
}
