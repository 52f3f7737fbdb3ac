package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/sandbox/fhirapi"
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
		if !ok || !g.confineReads(c, a, in) {
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
	case kindSearchSystem:
		if g.confineReads(c, a, in) {
			g.serveChecked(c, a, in)
		}
	case kindHistorySystem:
		g.serveChecked(c, a, in)
	case kindCreate:
		if p, ok := need(in.typ, smart.Create); !ok {
			return
		} else if err := a.conditionReads(in.typ, c.GetHeader("If-None-Exist")); err != nil {
			fail(err)
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
	case kindUpdate, kindDelete:
		si, verb := smart.Update, "update"
		if in.kind == kindDelete {
			si, verb = smart.Delete, "delete"
		}
		criteria := "" // a conditional update or delete names no id
		if in.id == "" {
			criteria = c.Request.URL.RawQuery
		}
		if p, ok := need(in.typ, si); !ok {
			return
		} else if err := a.conditionReads(in.typ, criteria); err != nil {
			fail(err)
			return
		} else if !confined(p) {
			c.Next()
			return
		}
		if in.id == "" {
			forbid(c, "conditional %s is not available to patient-level or constrained scopes: its search is not confined", verb)
			return
		}
		if err := g.checkStored(c.Request.Context(), a, in, si); err != nil {
			fail(err)
			return
		}
		if in.kind == kindUpdate {
			// The new body must stay inside what the token may touch too.
			if body, ok := g.peekBody(c); ok {
				if err := a.allows(in.typ, in.id, body, smart.Update); err != nil {
					fail(err)
					return
				}
			}
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
// carries resources, since it cannot be confined yet; $everything, whose
// answer is one patient's record, is the exception for the token's own
// patient.
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
	case in.op == "$everything" && typ == "Patient":
		// The answer is Patient/id's record: its compartment and what that
		// references. A patient-level token may have it for its own
		// patient, given read on every type and no query constraints; the
		// API is told to leave out referenced resources that could lie in
		// another patient's compartment (fhirapi.ConfineEverything), and
		// keeps those no compartment holds (the patient's Device, GP,
		// organisation), which are part of the record.
		p, err := a.permit("*", smart.Read)
		if err != nil {
			forbid(c, "$everything needs read on every type")
			return
		}
		if confined(p) && (p.Patient != in.id || len(p.Constraints) > 0) {
			forbid(c, "a patient-level or constrained token may ask $everything of its own patient only, without constraints")
			return
		}
		if confined(p) {
			c.Request = c.Request.WithContext(fhirapi.ConfineEverything(c.Request.Context(), p.Patient))
		}
		c.Next()
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
