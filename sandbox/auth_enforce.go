package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/smart"
)

// enforce decides an authenticated request. Writes are checked before the
// handler runs, since they cannot be undone; reads, searches and history
// are checked on what the handler answers, so the resource is read once.
func (g *guard) enforce(c *gin.Context, a *access, in interaction) {
	fail := func(err error) { forbid(c, "%s", err.Error()) }
	need := func(typ string, si smart.Interaction) (smart.Permission, bool) {
		p, err := a.permit(typ, si)
		if err != nil {
			forbid(c, "the token's scopes do not permit %s on %s", interactionName(si), typ)
			return p, false
		}
		return p, true
	}
	switch in.kind {
	case kindRead, kindVRead, kindHistoryInst:
		p, ok := need(in.typ, smart.Read)
		if !ok {
			return
		}
		if !confined(p) {
			c.Next()
			return
		}
		if in.kind != kindHistoryInst && (c.Request.Method == http.MethodHead ||
			c.GetHeader("If-None-Match") != "" || c.GetHeader("If-Modified-Since") != "") {
			// The answer may carry no body to check (HEAD, 304).
			if err := g.checkStored(c.Request.Context(), a, in, smart.Read); err != nil {
				fail(err)
				return
			}
			c.Next()
			return
		}
		g.serveChecked(c, a, in)
	case kindSearch:
		p, ok := need(in.typ, smart.Search)
		if !ok {
			return
		}
		if !confined(p) {
			c.Next()
			return
		}
		if err := narrowSearch(c, in, p); err != nil {
			fail(err)
			return
		}
		a.countConfined = len(p.Constraints) <= 1
		g.serveChecked(c, a, in)
	case kindHistoryType:
		p, ok := need(in.typ, smart.Search)
		if !ok {
			return
		}
		if !confined(p) {
			c.Next()
			return
		}
		g.serveChecked(c, a, in)
	case kindHistorySystem, kindSearchSystem:
		g.serveChecked(c, a, in)
	case kindCreate:
		if p, ok := need(in.typ, smart.Create); !ok {
			return
		} else if !confined(p) {
			c.Next()
			return
		}
		if c.GetHeader("If-None-Exist") != "" {
			forbid(c, "conditional create is not available to patient-level or constrained scopes: its search is not confined")
			return
		}
		body, ok := g.peekBody(c)
		if ok {
			if err := a.allows(in.typ, "", body, smart.Create); err != nil {
				fail(err)
				return
			}
		}
		c.Next()
	case kindUpdate:
		if p, ok := need(in.typ, smart.Update); !ok {
			return
		} else if !confined(p) {
			c.Next()
			return
		}
		if in.id == "" {
			forbid(c, "conditional update is not available to patient-level or constrained scopes: its search is not confined")
			return
		}
		if err := g.checkStored(c.Request.Context(), a, in, smart.Update); err != nil {
			fail(err)
			return
		}
		if body, ok := g.peekBody(c); ok {
			if err := a.allows(in.typ, in.id, body, smart.Update); err != nil {
				fail(err)
				return
			}
		}
		c.Next()
	case kindDelete:
		if p, ok := need(in.typ, smart.Delete); !ok {
			return
		} else if !confined(p) {
			c.Next()
			return
		}
		if in.id == "" {
			forbid(c, "conditional delete is not available to patient-level or constrained scopes: its search is not confined")
			return
		}
		if err := g.checkStored(c.Request.Context(), a, in, smart.Delete); err != nil {
			fail(err)
			return
		}
		c.Next()
	case kindPatch:
		if p, ok := need(in.typ, smart.Update); !ok {
			return
		} else if confined(p) {
			forbid(c, "PATCH is not available to patient-level or constrained scopes: the patched %s could leave what the token may touch; use PUT", in.typ)
			return
		}
		c.Next()
	case kindOperation:
		g.enforceOperation(c, a, in)
	case kindBundle:
		g.enforceBundle(c, a)
	default:
		if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
			forbid(c, "%s %s is not an interaction this server's access control covers", c.Request.Method, c.Request.URL.Path)
			return
		}
		// Let the API explain what is wrong with the path; anything it
		// would serve successfully is refused.
		w := &bufferedWriter{ResponseWriter: c.Writer, status: http.StatusOK}
		c.Writer = w
		c.Next()
		c.Writer = w.ResponseWriter
		if w.status < 400 {
			forbid(c, "GET %s is not an interaction this server's access control covers", c.Request.URL.Path)
			return
		}
		w.flush()
	}
}

// enforceOperation decides $operations. Bulk export ($export and its
// status and files) reads every type, so it needs read on all types at
// user or system level. $validate answers with an OperationOutcome only,
// so any scope that lets the client write or read the type will do. Other
// operations need read (and, unless GET, update) on the type or every
// type. Patient-level and constrained scopes get no operation whose answer
// carries resources, since it cannot be confined yet.
func (g *guard) enforceOperation(c *gin.Context, a *access, in interaction) {
	typ := in.typ
	ins := []smart.Interaction{smart.Read}
	switch {
	case in.op == "$validate" && typ != "":
		for _, si := range []smart.Interaction{smart.Create, smart.Update, smart.Read} {
			if _, err := a.permit(typ, si); err == nil {
				c.Next()
				return
			}
		}
		forbid(c, "the token's scopes do not permit create, update or read on %s, which $validate needs", typ)
		return
	case strings.HasPrefix(in.op, "$export"):
		typ = "*"
	case c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead:
		ins = append(ins, smart.Update)
	}
	if typ == "" {
		typ = "*"
	}
	for _, si := range ins {
		p, err := a.permit(typ, si)
		if err != nil {
			forbid(c, "the token's scopes do not permit %s on %s, which %s needs", interactionName(si), typ, in.op)
			return
		}
		if confined(p) {
			forbid(c, "%s is not available to patient-level or constrained scopes: its answer cannot be confined yet", in.op)
			return
		}
	}
	c.Next()
}

// checkStored checks the stored resource the request addresses (the given
// version for a vread); a resource that does not exist passes, since the
// API answers that without data.
func (g *guard) checkStored(ctx context.Context, a *access, in interaction, si smart.Interaction) error {
	var res *fhirstore.Resource
	var err error
	if in.kind == kindVRead {
		v, perr := strconv.ParseInt(in.version, 10, 64)
		if perr != nil {
			return nil // the API refuses the version
		}
		res, err = g.store.VRead(ctx, a.sandbox, in.typ, in.id, v)
	} else {
		res, err = g.store.Read(ctx, a.sandbox, in.typ, in.id)
	}
	var gone *fhirstore.GoneError
	if errors.Is(err, fhirstore.ErrNotFound) || errors.As(err, &gone) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("access to %s/%s cannot be checked now: the store failed", in.typ, in.id)
	}
	if res.Body == nil {
		return nil
	}
	return a.allows(in.typ, in.id, res.Body, si)
}

// peekBody reads the request body for checking and puts it back for the
// handler. An oversized or unreadable body is left to the handler, which
// refuses it before writing anything (ok false).
func (g *guard) peekBody(c *gin.Context) ([]byte, bool) {
	limit := g.maxBody
	if limit <= 0 {
		limit = 10 << 20
	}
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
	c.Request.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b), c.Request.Body), c.Request.Body}
	return b, err == nil && int64(len(b)) <= limit
}

// serveChecked runs the handler into a buffer and lets its answer out only
// if every resource in it may be seen.
func (g *guard) serveChecked(c *gin.Context, a *access, in interaction) {
	w := &bufferedWriter{ResponseWriter: c.Writer, status: http.StatusOK}
	c.Writer = w
	c.Next()
	c.Writer = w.ResponseWriter
	if w.status == http.StatusOK && w.buf.Len() > 0 {
		if err := g.checkAnswer(c.Request.Context(), a, in, w.buf.Bytes()); err != nil {
			forbid(c, "%s", err.Error())
			return
		}
	}
	w.flush()
}

// answer is the part of a response the check reads: one resource, or a
// Bundle's entries.
type answer struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Total        *int   `json:"total"`
	Entry        []struct {
		Resource json.RawMessage `json:"resource"`
		Search   *struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

func (g *guard) checkAnswer(ctx context.Context, a *access, in interaction, body []byte) error {
	var ans answer
	if err := json.Unmarshal(body, &ans); err != nil {
		return errors.New("the answer cannot be checked against the token's scopes")
	}
	if in.kind == kindRead || in.kind == kindVRead {
		if ans.ResourceType != in.typ {
			return errors.New("the answer cannot be checked against the token's scopes")
		}
		return a.allows(in.typ, in.id, body, smart.Read)
	}
	matches := 0
	for i, e := range ans.Entry {
		if len(e.Resource) == 0 {
			continue // a deletion in a history
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			return fmt.Errorf("entry %d cannot be checked against the token's scopes", i)
		}
		si := smart.Read
		if e.Search != nil {
			switch e.Search.Mode {
			case "outcome":
				if head.ResourceType == "OperationOutcome" {
					continue
				}
			case "match":
				matches++
				if head.ResourceType == in.typ {
					si = smart.Search
				}
			}
		}
		err := a.allows(head.ResourceType, head.ID, e.Resource, si)
		if err != nil && bytes.Contains(e.Resource, []byte("SUBSETTED")) {
			// _summary and _elements may have left out what the check
			// reads; judge the stored resource instead.
			err = g.checkStored(ctx, a, interaction{kind: kindRead, typ: head.ResourceType, id: head.ID}, si)
		}
		if err != nil {
			if in.kind == kindSearch || in.kind == kindSearchSystem {
				return fmt.Errorf("the search returns resources the token may not see (%v); narrow it to what the token's scopes allow", err)
			}
			return err
		}
	}
	if (in.kind == kindSearch || in.kind == kindSearchSystem) && !a.countConfined &&
		ans.Total != nil && *ans.Total > 0 && matches == 0 && grantConfines(a.grant) {
		return errors.New("a count without the matches cannot be confined to what the token may see")
	}
	return nil
}

// grantConfines reports whether any of the grant's scopes is at patient
// level or constrained.
func grantConfines(g *smart.Grant) bool {
	for _, sc := range g.Scopes {
		if sc.Level == smart.LevelPatient || sc.Query != nil {
			return true
		}
	}
	return false
}

// narrowSearch makes a confined type search ask only for what the grant
// may see, so that its matches, counts and paging are right: at patient
// level it becomes the search of the patient's compartment
// (Patient/[id]/[type]); a single v2 constraint is added to its
// parameters. What it cannot narrow (several constraints) the check of
// the answer still refuses.
func narrowSearch(c *gin.Context, in interaction, p smart.Permission) error {
	q := c.Request.URL.Query()
	if c.Request.Method == http.MethodPost {
		// POST [type]/_search: its form joins the query, and it is run as
		// the GET the compartment search is served on.
		if err := c.Request.ParseForm(); err != nil {
			return fmt.Errorf("the form body cannot be read: %v", err)
		}
		for k, vs := range c.Request.PostForm {
			q[k] = append(q[k], vs...)
		}
		c.Request.Method = http.MethodGet
		c.Request.Body = http.NoBody
		c.Request.ContentLength = 0
		c.Request.Header.Del("Content-Type")
	}
	if p.Level == smart.LevelPatient {
		switch in.compartment {
		case "":
			setPath(c, "/Patient/"+p.Patient+"/"+in.typ)
		case p.Patient:
		default:
			return fmt.Errorf("the compartment of Patient/%s is not the patient in context (Patient/%s)", in.compartment, p.Patient)
		}
	}
	if len(p.Constraints) == 1 {
		for k, vs := range p.Constraints[0] {
			q[k] = append(q[k], vs...)
		}
	}
	c.Request.URL.RawQuery = q.Encode()
	return nil
}

// setPath reroutes the request within the FHIR base the API serves.
func setPath(c *gin.Context, path string) {
	for i := range c.Params {
		if c.Params[i].Key == "path" {
			c.Params[i].Value = path
		}
	}
}

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
	}
	c.Next()
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

// bufferedWriter holds a handler's answer until the guard has checked it.
// Headers go to the real writer's map directly.
type bufferedWriter struct {
	gin.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *bufferedWriter) WriteHeader(code int)              { w.status = code }
func (w *bufferedWriter) WriteHeaderNow()                   {}
func (w *bufferedWriter) Write(b []byte) (int, error)       { return w.buf.Write(b) }
func (w *bufferedWriter) WriteString(s string) (int, error) { return w.buf.WriteString(s) }
func (w *bufferedWriter) Status() int                       { return w.status }
func (w *bufferedWriter) Size() int                         { return w.buf.Len() }
func (w *bufferedWriter) Written() bool                     { return w.buf.Len() > 0 }
func (w *bufferedWriter) Flush()                            {}

// flush sends the held answer.
func (w *bufferedWriter) flush() {
	w.ResponseWriter.WriteHeader(w.status)
	w.ResponseWriter.WriteHeaderNow()
	_, _ = w.ResponseWriter.Write(w.buf.Bytes())
}
