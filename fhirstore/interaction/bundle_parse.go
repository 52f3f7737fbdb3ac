package interaction

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// parseBundle reads the posted Bundle, a transaction or batch. The entries'
// resources are taken out (compacted, to be validated one by one later);
// the rest is validated as a Bundle meanwhile, and check waits for that
// verdict. Every caller waits for it before answering, and its error comes
// before any entry's. A Bundle whose caller vouches for it (validated) is
// not validated again.
func parseBundle(data []byte, validated bool) (b *bundleIn, check func() error, err error) {
	shell, resources, err := fhirjson.SplitBundle(data)
	var oe *outcome.Error
	switch {
	case errors.As(err, &oe):
		return nil, nil, oe
	case err != nil:
		return nil, nil, outcome.New(outcome.Incorrect, outcome.Structure, "body is not a JSON object: %v", err)
	}
	b, isBundle, read := readShell(shell)
	if !read || !isBundle {
		if b, err = decodeShell(shell); err != nil {
			return nil, nil, err
		}
	}
	if b.Type != "transaction" && b.Type != "batch" {
		return nil, nil, outcome.New(outcome.Incorrect, outcome.Value,
			"Bundle.type is %q; POST to the FHIR base takes transaction or batch", b.Type).At("Bundle.type")
	}
	check = func() error { return nil }
	if !validated {
		verdict := make(chan error, 1)
		go func() {
			_, err := fhirjson.Parse(shell)
			verdict <- err
		}()
		check = sync.OnceValue(func() error { return <-verdict })
	}
	if len(resources) != len(b.Entry) {
		// encoding/json took the entries from a member whose name differs
		// from "entry" in case only, which the Bundle's validation refuses.
		return nil, nil, cmp.Or(check(), error(outcome.New(outcome.Incorrect, outcome.Structure, "Bundle.entry cannot be read")))
	}
	for i := range b.Entry {
		b.Entry[i].Resource = resources[i]
	}
	return b, check, nil
}

// decodeShell decodes shell with encoding/json, for the shells readShell
// leaves to a decoder and to refuse what is not a Bundle.
func decodeShell(shell []byte) (*bundleIn, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(shell, &top); err != nil {
		return nil, outcome.New(outcome.Incorrect, outcome.Structure, "body is not a JSON object: %v", err)
	}
	if string(top["resourceType"]) != `"Bundle"` {
		return nil, outcome.New(outcome.Incorrect, outcome.Invalid,
			"POST to the FHIR base takes a Bundle of type transaction or batch").At("resourceType")
	}
	b := &bundleIn{}
	if err := json.Unmarshal(shell, b); err != nil {
		return nil, outcome.New(outcome.Incorrect, outcome.Structure, "Bundle: %v", err)
	}
	return b, nil
}

// entryError is an error of entry i, naming it.
func entryError(i int, err error) *outcome.Error {
	oe := outcome.From(err)
	c := *oe
	c.Issues = nil
	for _, is := range oe.Issues {
		is.Diagnostics = fmt.Sprintf("Bundle.entry[%d]: %s", i, is.Diagnostics)
		for j, ex := range is.Expression {
			is.Expression = append([]string(nil), is.Expression...)
			is.Expression[j] = fmt.Sprintf("Bundle.entry[%d].resource.%s", i, ex)
		}
		if len(is.Expression) == 0 {
			is.Expression = []string{fmt.Sprintf("Bundle.entry[%d]", i)}
		}
		c.Issues = append(c.Issues, is)
	}
	return c.Wrap(err)
}

// parseEntry reads an entry's request, routed as the HTTP API routes it.
func (r *bundleRun) parseEntry(i int, in entryIn) (*entry, error) {
	bad := func(format string, args ...any) error {
		return entryError(i, outcome.New(outcome.Incorrect, outcome.Invalid, format, args...))
	}
	if in.Request == nil || in.Request.Method == "" || in.Request.URL == "" {
		return nil, bad("entry has no request with method and url")
	}
	e := &entry{index: i, method: in.Request.Method, ifMatch: in.Request.IfMatch, fullURL: in.FullURL}
	if _, ok := methodOrder[e.method]; !ok {
		return nil, bad("request.method %q is not one of GET, HEAD, POST, PUT, DELETE, PATCH", e.method)
	}
	if e.method == "PATCH" {
		return nil, entryError(i, outcome.New(outcome.Unimplemented, outcome.NotSupported, "PATCH entries are not supported yet"))
	}
	e.ifNoneExist = in.Request.IfNoneExist
	if e.ifNoneExist != "" && e.method != "POST" {
		return nil, bad("ifNoneExist belongs to POST entries")
	}
	u := strings.TrimPrefix(in.Request.URL, r.base+"/")
	path, query, conditional := strings.Cut(u, "?")
	if conditional {
		if e.method != "PUT" && e.method != "DELETE" {
			return nil, entryError(i, outcome.New(outcome.Unimplemented, outcome.NotSupported,
				"request.url %q: searches in bundles are not supported yet", in.Request.URL))
		}
		if query == "" {
			return nil, bad("request.url %q has an empty search", in.Request.URL)
		}
		e.criteria = query
	}
	if typ, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/"); !fhirjson.IsType(typ) {
		return nil, bad("request.url %q does not start with a resource type", in.Request.URL)
	}
	req, err := Route(e.method, path)
	if err != nil {
		var oe *outcome.Error
		if errors.As(err, &oe) && oe.Category == outcome.Incorrect {
			return nil, bad("request.url %q: %s", in.Request.URL, oe.Issues[0].Diagnostics)
		}
		return nil, bad("request.url %q does not fit method %s", in.Request.URL, e.method)
	}
	e.kind, e.typ, e.id = req.Kind, req.Type, req.ID
	switch {
	case conditional && (e.kind == ConditionalUpdate || e.kind == ConditionalDelete):
	case conditional:
		return nil, bad("request.url %q does not fit method %s", in.Request.URL, e.method)
	case e.kind == Create, e.kind == Update, e.kind == Delete, e.kind == Read:
	case e.kind == VRead:
		v, err := strconv.ParseInt(req.Version, 10, 64)
		if err != nil || v < 1 {
			return nil, bad("request.url %q: %q is not a version", in.Request.URL, req.Version)
		}
		e.version = v
	default:
		return nil, bad("request.url %q does not fit method %s", in.Request.URL, e.method)
	}
	if e.method == "POST" || e.method == "PUT" {
		if len(in.Resource) == 0 {
			return nil, bad("a %s entry needs a resource", e.method)
		}
		e.body = in.Resource
		e.vouched = r.validated
	}
	return e, nil
}
