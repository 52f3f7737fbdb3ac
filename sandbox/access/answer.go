package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/smart"
)

// serveHistory runs the handler of a history into a buffer and lets its
// answer out only if every version in it may be read. Histories are the
// one answer still checked after the fact: the store keeps no index rows
// of past versions to confine a query by, so each version's body is
// judged (allows).
func (g *Guard) serveHistory(c *gin.Context, gr *grant, sandbox, base string) {
	w := &bufferedWriter{ResponseWriter: c.Writer, status: http.StatusOK}
	c.Writer = w
	c.Next()
	c.Writer = w.ResponseWriter
	if w.status == http.StatusOK && w.buf.Len() > 0 {
		if err := g.checkHistory(c.Request.Context(), gr, sandbox, base, w.buf.Bytes()); err != nil {
			deny(c, forbidden(err))
			return
		}
	}
	w.flush()
}

// history is the part of a history Bundle the check reads.
type history struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

func (g *Guard) checkHistory(ctx context.Context, gr *grant, sandbox, base string, body []byte) error {
	var h history
	if err := json.Unmarshal(body, &h); err != nil {
		return errors.New("the answer cannot be checked against the token's scopes")
	}
	for i, e := range h.Entry {
		if len(e.Resource) == 0 {
			continue // a deletion
		}
		var head struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		}
		if err := json.Unmarshal(e.Resource, &head); err != nil {
			return fmt.Errorf("entry %d cannot be checked against the token's scopes", i)
		}
		p, err := gr.permit(head.ResourceType, smart.Read)
		if err != nil {
			return fmt.Errorf("the token's scopes do not permit read on %s", head.ResourceType)
		}
		err = allows(base, head.ResourceType, head.ID, e.Resource, p)
		if err != nil && bytes.Contains(e.Resource, []byte("SUBSETTED")) {
			// _summary and _elements may have left out what the check
			// reads; judge the stored resource instead.
			err = g.storedAllows(ctx, sandbox, base, head.ResourceType, head.ID, p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// storedAllows judges the stored current version of typ/id; one that does
// not exist passes.
func (g *Guard) storedAllows(ctx context.Context, sandbox, base, typ, id string, p smart.Permission) error {
	res, err := g.cfg.Store.Read(ctx, fhirstore.Sandbox(sandbox), typ, id)
	var gone *fhirstore.GoneError
	switch {
	case errors.Is(err, fhirstore.ErrNotFound), errors.As(err, &gone):
		return nil
	case err != nil:
		return fmt.Errorf("access to %s/%s cannot be checked now: the store failed", typ, id)
	case res.Body == nil:
		return nil
	}
	return allows(base, typ, id, res.Body, p)
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
