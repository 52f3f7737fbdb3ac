package jft

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp"
	"hpsandbox/fhirstore/outcome"
)

// searchParams are the parameters the EHR side may list submissions by.
var searchParams = map[string]bool{
	"_lastUpdated": true, "_tag": true, "_tag:not": true, "_count": true, "_cursor": true, "identifier": true,
}

// submissionQuery is params restricted to submissions (a tag of TagSystem)
// in order of their last change, oldest first, so that a reader polling
// with _lastUpdated or paging with the cursor sees each change once.
func submissionQuery(params url.Values) url.Values {
	q := url.Values{}
	for k, vs := range params {
		q[k] = append([]string(nil), vs...)
	}
	any := make([]string, len(states))
	for i, s := range states {
		any[i] = TagSystem + "|" + string(s)
	}
	q.Add("_tag", strings.Join(any, ","))
	q.Set("_sort", "_lastUpdated")
	return q
}

// search lists submissions for the EHR side as a searchset Bundle, paged
// with the store's keyset cursor: opaque, and stable under concurrent
// writes (a submission there all along is neither repeated nor skipped).
func (c *Connector) search(w http.ResponseWriter, q *request) {
	params := q.r.URL.Query()
	for k := range params {
		if !searchParams[k] {
			connectors.WriteOutcome(w, outcome.New(outcome.Incorrect, outcome.NotSupported,
				"the journaling service lists submissions by _lastUpdated, _tag, _tag:not, identifier, _count and the paging cursor, not %q", k).At(k))
			return
		}
	}
	page, err := c.engine.Search(q.r.Context(), q.sandbox(), q.typ, submissionQuery(params))
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	self := requestBase(q.r) + mountPath(q.r) + apiPath + "/" + q.typ
	type link struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	}
	type entry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   struct {
			Mode string `json:"mode"`
		} `json:"search"`
	}
	b := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Total        *int    `json:"total,omitempty"`
		Link         []link  `json:"link"`
		Entry        []entry `json:"entry,omitempty"`
	}{ResourceType: "Bundle", Type: "searchset"}
	if page.Total >= 0 {
		b.Total = &page.Total
	}
	withCursor := func(cursor string) string {
		p := url.Values{}
		for k, vs := range params {
			if k != "_cursor" {
				p[k] = vs
			}
		}
		if cursor != "" {
			p.Set("_cursor", cursor)
		}
		if len(p) == 0 {
			return self
		}
		return self + "?" + p.Encode()
	}
	b.Link = append(b.Link, link{"self", withCursor(params.Get("_cursor"))})
	if page.Next != "" {
		b.Link = append(b.Link, link{"next", withCursor(page.Next)})
	}
	order := c.faults.Order(q.r.Context(), q.caller.Sandbox, params.Get("_cursor"), len(page.Matches))
	for _, m := range vkp.Reorder(order, page.Matches) {
		e := entry{FullURL: self + "/" + m.ID, Resource: m.Body}
		e.Search.Mode = "match"
		b.Entry = append(b.Entry, e)
	}
	out, err := json.Marshal(b)
	if err != nil {
		connectors.WriteOutcome(w, err)
		return
	}
	writeFHIR(w, http.StatusOK, out)
}

// requestBase is the scheme and host the request names.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
