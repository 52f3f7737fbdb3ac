package access

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/search"
	"hpsandbox/smart"
)

// bundleIn is what the guard reads of a posted batch or transaction.
type bundleIn struct {
	ResourceType string `json:"resourceType"`
	Entry        []struct {
		Resource json.RawMessage `json:"resource"`
		Request  *struct {
			Method      string `json:"method"`
			URL         string `json:"url"`
			IfNoneExist string `json:"ifNoneExist"`
		} `json:"request"`
	} `json:"entry"`
}

// checkBundle decides every entry of a posted transaction or batch as the
// request it is, then runs the checks the decisions leave, before
// anything runs. The confinements of the entries go into the request
// context together, for the engine's checks of writes.
func (g *Guard) checkBundle(c *gin.Context, tok *smart.Grant, sandbox, base string) error {
	body, ok := g.peekBody(c)
	if !ok {
		return nil // the API refuses it without touching data
	}
	var b bundleIn
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" {
		return nil // the API refuses it without touching data
	}
	basePath := strings.TrimSuffix(c.Request.URL.Path, c.Param("path"))
	entries, err := bundleEntries(&b, sandbox, basePath, base)
	if err != nil {
		return err
	}
	gr := &grant{Grant: tok}
	ds := make([]Decision, len(entries))
	var all confinement
	for i, e := range entries {
		if e == nil {
			continue
		}
		if ds[i] = decide(gr, e); ds[i].Effect == Refuse {
			return entryErr(i, ds[i].Err)
		}
		if c := ds[i].Confinement; c != nil && c.Compartment.Type != "" {
			c.Base = base
		}
		all.merge(ds[i].Confinement)
	}
	if conf := all.result(); conf != nil {
		if conf.Compartment.Type != "" {
			conf.Base = base
		}
		c.Request = c.Request.WithContext(search.ConfineTo(c.Request.Context(), conf))
	}
	for i, e := range entries {
		if e == nil {
			continue
		}
		if err := g.check(c, sandbox, base, e.Route, ds[i]); err != nil {
			return entryErr(i, err)
		}
	}
	return nil
}

func entryErr(i int, err error) error {
	msg := err.Error()
	if oe, ok := err.(*outcome.Error); ok && len(oe.Issues) > 0 {
		msg = oe.Issues[0].Diagnostics
	}
	return forbidden(fmt.Errorf("Bundle.entry[%d]: %s", i, msg))
}

// bundleEntries routes and parses a bundle's entries into the requests a
// decision reads; an entry without a request is nil (the API refuses it).
// basePath is the path of the FHIR base the bundle was posted to, which an
// absolute url must be under.
func bundleEntries(b *bundleIn, sandbox, basePath, base string) ([]*Request, error) {
	out := make([]*Request, len(b.Entry))
	for i, e := range b.Entry {
		if e.Request == nil {
			continue
		}
		method, rawURL := e.Request.Method, e.Request.URL
		path, query, _ := strings.Cut(rawURL, "?")
		if e.Request.IfNoneExist != "" {
			query = e.Request.IfNoneExist // judged as the conditional interaction it is
		}
		u, err := url.Parse(path)
		absolute := err == nil && u.IsAbs()
		if absolute {
			rest, under := strings.CutPrefix(u.Path, basePath)
			if !under {
				return nil, entryErr(i, fmt.Errorf("%s %s %s", method, rawURL, errEntry))
			}
			path = rest
		}
		route, err := interaction.Route(method, path)
		if err != nil {
			if absolute {
				return nil, entryErr(i, fmt.Errorf("%s %s %s", method, rawURL, errEntry))
			}
			continue // the API refuses the same url, touching nothing
		}
		r := &Request{Sandbox: sandbox, Route: route, Entry: true}
		if query != "" {
			r.Search = criteria(route.Type, query, base)
			r.Conditional = !route.Kind.IsSearch()
		}
		if r.References, err = conditionalReferences(e.Resource, base); err != nil {
			return nil, entryErr(i, err)
		}
		out[i] = r
	}
	return out, nil
}

// conditionalReferences are the conditional references (Type?criteria)
// of an entry's resource.
func conditionalReferences(resource []byte, base string) ([]Reference, error) {
	if len(resource) == 0 || !bytes.Contains(resource, []byte("?")) {
		return nil, nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, resource) != nil {
		return nil, nil // the API refuses the entry
	}
	var out []Reference
	_, err := fhirjson.MapReferences(compact.Bytes(), func(ref string) (string, bool, error) {
		typ, q, ok := strings.Cut(ref, "?")
		if ok && fhirjson.IsType(typ) {
			out = append(out, Reference{Ref: ref, Type: typ, Criteria: criteria(typ, q, base)})
		}
		return "", false, nil
	})
	if err != nil {
		return nil, nil // the API refuses the entry
	}
	return out, nil
}

// peekBody reads the request body for checking and puts it back for the
// handler. An oversized or unreadable body is left to the handler, which
// refuses it before writing anything (ok false).
func (g *Guard) peekBody(c *gin.Context) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, g.cfg.MaxBody+1))
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), c.Request.Body), c.Request.Body}
	return b, err == nil && int64(len(b)) <= g.cfg.MaxBody
}
