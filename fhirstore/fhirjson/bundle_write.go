package fhirjson

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Bundle is a Bundle the API answers with (searchset, history, batch and
// transaction responses), as encoding/json would marshal it.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Meta         BundleMeta    `json:"meta"`
	Type         string        `json:"type"`
	Total        *int          `json:"total,omitempty"`
	Link         []BundleLink  `json:"link,omitempty"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleMeta is a Bundle's meta.
type BundleMeta struct {
	LastUpdated string `json:"lastUpdated"`
}

// BundleLink is one of a Bundle's links.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is one of a Bundle's entries.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource,omitempty"`
	Search   *BundleSearch   `json:"search,omitempty"`
	Request  *BundleRequest  `json:"request,omitempty"`
	Response *BundleResponse `json:"response,omitempty"`
}

// BundleSearch is an entry's search.
type BundleSearch struct {
	Mode string `json:"mode"`
}

// BundleRequest is an entry's request.
type BundleRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

// BundleResponse is an entry's response.
type BundleResponse struct {
	Status       string          `json:"status"`
	Location     string          `json:"location,omitempty"`
	Etag         string          `json:"etag,omitempty"`
	LastModified string          `json:"lastModified,omitempty"`
	Outcome      json.RawMessage `json:"outcome,omitempty"`
}

// A Bundle is written by hand (AppendJSON), byte for byte what
// encoding/json writes for it with HTML escaping off (links carry query
// strings; their & stays readable). encoding/json checks and compacts each
// json.RawMessage (the resources) with its scanner, a function call per
// byte: in the mixed workload of sandbox bench, writing a searchset was a
// third of a search's CPU and that scan half of it. Compact accepts
// exactly what it accepts and returns a compact body (as stored bodies
// are) unchanged, at about six times the speed.

// SizeHint is about the length of b's JSON: its resources and a little for
// the rest of each entry.
func (b *Bundle) SizeHint() int {
	n := 512
	for _, l := range b.Link {
		n += len(l.URL) + 32
	}
	for _, e := range b.Entry {
		n += len(e.FullURL) + len(e.Resource) + 96
	}
	return n
}

// AppendJSON appends b's JSON to dst. A resource or outcome that is not
// valid JSON fails it, as it fails encoding/json.
func (b *Bundle) AppendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, `{"resourceType":`...)
	dst = AppendString(dst, b.ResourceType, false)
	dst = append(dst, `,"id":`...)
	dst = AppendString(dst, b.ID, false)
	dst = append(dst, `,"meta":{"lastUpdated":`...)
	dst = AppendString(dst, b.Meta.LastUpdated, false)
	dst = append(dst, `},"type":`...)
	dst = AppendString(dst, b.Type, false)
	if b.Total != nil {
		dst = append(dst, `,"total":`...)
		dst = strconv.AppendInt(dst, int64(*b.Total), 10)
	}
	if len(b.Link) > 0 {
		dst = append(dst, `,"link":[`...)
		for i, l := range b.Link {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"relation":`...)
			dst = AppendString(dst, l.Relation, false)
			dst = append(dst, `,"url":`...)
			dst = AppendString(dst, l.URL, false)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if len(b.Entry) > 0 {
		dst = append(dst, `,"entry":[`...)
		for i := range b.Entry {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = b.Entry[i].appendJSON(dst); err != nil {
				return nil, err
			}
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), nil
}

// appendJSON appends the entry's JSON to dst.
func (e *BundleEntry) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	// sep comes before each member but the first.
	sep := func() {
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
	}
	if e.FullURL != "" {
		dst = append(dst, `"fullUrl":`...)
		dst = AppendString(dst, e.FullURL, false)
	}
	if len(e.Resource) > 0 {
		sep()
		dst = append(dst, `"resource":`...)
		var err error
		if dst, err = appendRaw(dst, e.Resource, "resource"); err != nil {
			return nil, err
		}
	}
	if e.Search != nil {
		sep()
		dst = append(dst, `"search":{"mode":`...)
		dst = AppendString(dst, e.Search.Mode, false)
		dst = append(dst, '}')
	}
	if q := e.Request; q != nil {
		sep()
		dst = append(dst, `"request":{"method":`...)
		dst = AppendString(dst, q.Method, false)
		dst = append(dst, `,"url":`...)
		dst = AppendString(dst, q.URL, false)
		dst = append(dst, '}')
	}
	if p := e.Response; p != nil {
		sep()
		dst = append(dst, `"response":{"status":`...)
		dst = AppendString(dst, p.Status, false)
		for _, m := range [...]struct{ name, val string }{
			{"location", p.Location}, {"etag", p.Etag}, {"lastModified", p.LastModified},
		} {
			if m.val != "" {
				dst = append(dst, `,"`...)
				dst = append(dst, m.name...)
				dst = append(dst, `":`...)
				dst = AppendString(dst, m.val, false)
			}
		}
		if len(p.Outcome) > 0 {
			dst = append(dst, `,"outcome":`...)
			var err error
			if dst, err = appendRaw(dst, p.Outcome, "outcome"); err != nil {
				return nil, err
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// appendRaw appends raw JSON compacted, or fails when it is not JSON.
func appendRaw(dst, raw []byte, what string) ([]byte, error) {
	c, ok := Compact(raw)
	if !ok {
		return nil, fmt.Errorf("bundle entry %s is not valid JSON", what)
	}
	return append(dst, c...), nil
}
