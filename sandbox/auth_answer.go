package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"hpsandbox/smart"
)

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
	if in.kind == kindRead || in.kind == kindVRead {
		// The API answers a read with the resource the path names; the
		// check decodes it only if it must (and then checks its type).
		return a.allows(in.typ, in.id, body, smart.Read)
	}
	var ans answer
	if err := json.Unmarshal(body, &ans); err != nil {
		return errors.New("the answer cannot be checked against the token's scopes")
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
