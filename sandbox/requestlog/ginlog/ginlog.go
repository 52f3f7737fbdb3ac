// Package ginlog records a gin gateway's exchanges in the request log: the
// Middleware measures each request and hands its requestlog.Entry to a
// requestlog.Recorder. It is the HTTP side of the log only; the entries,
// the recorder and the stores are package requestlog, which knows nothing
// of gin, so that connectors record their messages the same way.
package ginlog

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/requestlog"
)

type noteKey struct{}

// NoteOf returns the request's Note, which the auth layer fills in, or nil
// outside the Middleware. A Note is valid until the Middleware returns.
func NoteOf(c *gin.Context) *requestlog.Note {
	v, _ := c.Get(noteKey{})
	n, _ := v.(*requestlog.Note)
	return n
}

// ShareNote is middleware for routes whose handlers are plain
// net/http handlers (the authorization server's): it puts the request's
// Note in the request's context, where requestlog.NoteFrom finds it. It
// does nothing outside the Middleware.
func ShareNote(c *gin.Context) {
	if n := NoteOf(c); n != nil {
		c.Request = c.Request.WithContext(requestlog.WithNote(c.Request.Context(), n))
	}
	c.Next()
}

// requestIDHeader is where the gateway answers with the request's id
// (canonical form).
const requestIDHeader = "X-Request-Id"

// Middleware records every request that sandboxOf assigns to a sandbox
// (sandboxOf returns "" for requests outside any sandbox), or that a
// handler assigned to one through the Note's Sandbox; other requests are
// not recorded. sandboxOf is called after the handlers, so route
// parameters and whatever they set are available.
//
// On the request path it only measures, keeps the first MaxOutcomeBytes of
// an error response's body (status 400 and above) to read its issues, and
// queues the entry; it never records headers. A request that panics is
// recorded with status 500 unless a status was already written, and the
// panic goes on to the recovery middleware.
func Middleware(rec *requestlog.Recorder, sandboxOf func(*gin.Context) string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		w := capturePool.Get().(*capture)
		w.install(c)
		completed := false
		defer func() {
			w.uninstall(c)
			sandbox := sandboxOf(c)
			if sandbox == "" {
				sandbox = w.note.Sandbox
			}
			if sandbox != "" {
				rec.Record(w.entry(c, sandbox, start, completed))
			}
			// After a panic the recovery middleware may still use the
			// writer, so it is left to the collector, not reused.
			if completed {
				w.reset()
				capturePool.Put(w)
			}
		}()
		c.Next()
		completed = true
	}
}

var capturePool = sync.Pool{New: func() any { return new(capture) }}

// capture wraps a request's response writer (to keep the start of an
// error body) and, when no length was declared, its body (to count it).
// One is reused across requests, so a request costs no allocation.
type capture struct {
	gin.ResponseWriter
	note    requestlog.Note
	body    []byte
	reqBody countingBody
	counted bool
}

func (w *capture) install(c *gin.Context) {
	w.ResponseWriter = c.Writer
	c.Writer = w
	c.Set(noteKey{}, &w.note)
	if r := c.Request; r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody {
		w.reqBody.ReadCloser = r.Body
		r.Body = &w.reqBody
		w.counted = true
	}
}

// uninstall gives the request back its own writer and body, and hides the
// Note from middleware that runs later.
func (w *capture) uninstall(c *gin.Context) {
	c.Writer = w.ResponseWriter
	c.Set(noteKey{}, (*requestlog.Note)(nil))
	if w.counted {
		c.Request.Body = w.reqBody.ReadCloser
	}
}

func (w *capture) entry(c *gin.Context, sandbox string, start time.Time, completed bool) requestlog.Entry {
	status := w.Status()
	if !completed && !w.Written() {
		status = http.StatusInternalServerError
	}
	r := c.Request
	e := requestlog.Entry{
		Sandbox:       sandbox,
		Time:          start.UTC(), // both stores answer in UTC, without the monotonic reading
		ClientID:      w.note.ClientID,
		Method:        r.Method,
		Path:          r.URL.Path,
		Query:         requestlog.RedactQuery(r.URL.Path, r.URL.RawQuery),
		Status:        status,
		Latency:       time.Since(start),
		RequestBytes:  r.ContentLength,
		ResponseBytes: int64(max(w.Size(), 0)),
		Scopes:        w.note.Scopes,
		RequestID:     first(w.Header()[requestIDHeader]),
		Accept:        cutHeader(first(r.Header["Accept"]), maxAcceptBytes),
		Preconditions: preconditions(r.Header),
		OAuth:         w.note.OAuth,
		Verdicts:      w.note.Verdicts,
	}
	if w.counted {
		e.RequestBytes = w.reqBody.n
	}
	if w.note.Connector != "" {
		e.Connector, e.Channel = w.note.Connector, requestlog.ChannelHTTP
	}
	if status >= 400 {
		e.AttachOutcome(first(w.Header()["Content-Type"]), w.body)
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		e.RetryAfter = retryAfter(first(w.Header()["Retry-After"]))
	}
	return e
}

// maxAcceptBytes bounds the Accept header kept; what a check reads of it
// is at its start.
const maxAcceptBytes = 128

// cutHeader returns v cut to n bytes.
func cutHeader(v string, n int) string {
	if len(v) > n {
		return v[:n]
	}
	return v
}

// preconditions names the conditional-request headers of h, without
// their values, in a fixed order; constant strings keep the common cases
// free of allocation.
func preconditions(h http.Header) string {
	m, nm, ne := len(h["If-Match"]) > 0, len(h["If-None-Match"]) > 0, len(h["If-None-Exist"]) > 0
	switch {
	case !m && !nm && !ne:
		return ""
	case m && !nm && !ne:
		return "If-Match"
	case !m && nm && !ne:
		return "If-None-Match"
	case !m && !nm && ne:
		return "If-None-Exist"
	}
	var names []string
	for _, n := range []struct {
		set  bool
		name string
	}{{m, "If-Match"}, {nm, "If-None-Match"}, {ne, "If-None-Exist"}} {
		if n.set {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, " ")
}

// maxRetryAfter bounds the Retry-After kept: a day is already an answer
// no client waits out.
const maxRetryAfter = 24 * time.Hour

// retryAfter reads a Retry-After of delay-seconds (RFC 9110 §10.2.3); an
// HTTP date, which the gateway does not send, reads as none.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter)
}

// first is a header's first value. The keys looked up are canonical, so
// the map is read directly, without Header.Get's canonicalising.
func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}

func (w *capture) reset() {
	body := w.body[:0]
	*w = capture{body: body}
}

// Write implements io.Writer, keeping the start of an error body.
func (w *capture) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if w.Status() >= 400 {
		w.body = keep(w.body, p[:n])
	}
	return n, err
}

// WriteString implements io.StringWriter, keeping the start of an error
// body.
func (w *capture) WriteString(s string) (int, error) {
	n, err := w.ResponseWriter.WriteString(s)
	if w.Status() >= 400 {
		w.body = keep(w.body, s[:n])
	}
	return n, err
}

// keep appends p to the kept body up to one byte past MaxOutcomeBytes, so
// that IssuesFrom can tell the body was too large.
func keep[T string | []byte](body []byte, p T) []byte {
	if room := requestlog.MaxOutcomeBytes + 1 - len(body); room > 0 {
		body = append(body, p[:min(len(p), room)]...)
	}
	return body
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *capture) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the bytes read from a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	return n, err
}
