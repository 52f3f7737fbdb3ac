package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/smart"
)

// enforceBundle checks every entry of a posted transaction or batch as if
// it were its own request, before anything runs.
func (g *guard) enforceBundle(c *gin.Context, a *access) {
	body, ok := g.peekBody(c)
	if !ok {
		c.Next()
		return
	}
	var b struct {
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
	if json.Unmarshal(body, &b) != nil || b.ResourceType != "Bundle" {
		c.Next() // the API refuses it without touching data
		return
	}
	for i, e := range b.Entry {
		if e.Request == nil {
			continue // the API refuses it
		}
		target := e.Request.URL
		if e.Request.IfNoneExist != "" {
			target += "?" + e.Request.IfNoneExist // judged as the conditional interaction it is
		}
		if err := g.checkEntry(c, a, e.Request.Method, target, e.Resource); err != nil {
			forbid(c, "Bundle.entry[%d]: %v", i, err)
			return
		}
		if err := a.conditionalReferences(e.Resource); err != nil {
			forbid(c, "Bundle.entry[%d]: %v", i, err)
			return
		}
	}
	c.Next()
}

// conditionalReferences checks the conditional references (Type?criteria)
// of an entry's resource, which the server resolves by searching: the token
// must be allowed to search their type unconfined (a patient-level or
// constrained search cannot be applied to them yet), and their criteria
// read only what it may read. Otherwise whether the entry succeeds would
// tell what another patient's record holds.
func (a *access) conditionalReferences(resource []byte) error {
	if len(resource) == 0 || !bytes.Contains(resource, []byte("?")) {
		return nil
	}
	var compact bytes.Buffer
	if json.Compact(&compact, resource) != nil {
		return nil // the API refuses the entry
	}
	var refused error
	_, _ = fhirjson.MapReferences(compact.Bytes(), func(ref string) (string, bool, error) {
		typ, criteria, ok := strings.Cut(ref, "?")
		if !ok || !fhirjson.IsType(typ) || refused != nil {
			return "", false, nil
		}
		p, err := a.permit(typ, smart.Search)
		switch {
		case err != nil:
			refused = fmt.Errorf("the conditional reference %s needs search on %s, which the token's scopes do not permit", ref, typ)
		case confined(p):
			refused = fmt.Errorf("conditional references (%s) are not available to patient-level or constrained scopes on %s", ref, typ)
		default:
			refused = a.conditionReads(typ, criteria)
		}
		return "", false, nil
	})
	return refused
}

// checkEntry checks one bundle entry's request.
func (g *guard) checkEntry(c *gin.Context, a *access, method, rawURL string, resource []byte) error {
	path, query, _ := strings.Cut(rawURL, "?")
	if u, err := url.Parse(path); err == nil && u.IsAbs() {
		path = strings.TrimPrefix(u.Path, fhirBasePath)
	}
	in := classify(method, splitPath(path))
	conditional := query != "" && in.kind != kindSearch
	var si smart.Interaction
	switch in.kind {
	case kindRead, kindVRead:
		si = smart.Read
	case kindSearch:
		si = smart.Search
	case kindCreate:
		si = smart.Create
	case kindUpdate:
		si = smart.Update
	case kindDelete:
		si = smart.Delete
	default:
		return fmt.Errorf("%s %s is not an interaction this server's access control covers in a bundle", method, rawURL)
	}
	p, err := a.permit(in.typ, si)
	if err != nil {
		return fmt.Errorf("the token's scopes do not permit %s on %s", interactionName(si), in.typ)
	}
	if query != "" {
		// What the search or the condition reads through chains and _has.
		if err := a.conditionReads(in.typ, query); err != nil {
			return err
		}
	}
	if !confined(p) {
		return nil
	}
	switch {
	case conditional:
		return errors.New("conditional interactions in a bundle are not available to patient-level or constrained scopes")
	case in.kind == kindSearch:
		return errors.New("searches in a bundle are not available to patient-level or constrained scopes")
	case in.kind == kindCreate:
		return a.allows(in.typ, "", resource, si)
	case in.kind == kindUpdate:
		if err := g.checkStored(c.Request.Context(), a, in, si); err != nil {
			return err
		}
		return a.allows(in.typ, in.id, resource, si)
	}
	return g.checkStored(c.Request.Context(), a, in, si)
}
