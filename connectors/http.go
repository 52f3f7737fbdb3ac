package connectors

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/requestlog"
)

// Handler serves the routes of every connector below prefix: a request
// for prefix + "/{id}/path" goes to connector id's route for path. The
// request's context must carry the Caller (WithCaller); the gateway puts
// it there once it has authenticated the request. See ServeRoute.
func (s *Set) Handler(prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			writeOutcome(w, outcome.New(outcome.Missing, outcome.NotFound, "no connector is served at %s", r.URL.Path))
			return
		}
		s.ServeRoute(w, r, rest)
	})
}

// ServeRoute serves r with the route that rest, "/{id}/path", names:
// connector id's route for method and path. r.URL.Path stays the request's
// whole path, as the request log records it.
//
// Every exchange with a Caller is recorded as evidence of the connector,
// whatever the route answers: an unknown connector or path answers 404 (405
// for a known path with another method) with an OperationOutcome, and a
// route that panics answers 500. Without a Caller the gateway failed to
// authenticate the request, which answers 500 and touches no connector.
func (s *Set) ServeRoute(w http.ResponseWriter, r *http.Request, rest string) {
	caller, ok := CallerFrom(r.Context())
	if !ok {
		s.log.Error("connectors: a route was served without a caller; the gateway must authenticate it", "path", r.URL.Path)
		writeOutcome(w, outcome.New(outcome.Fault, outcome.Exception, "the connector was reached without a sandbox"))
		return
	}
	id, sub, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/")
	m := s.byID[id]
	// A request for no connector is still evidence of the sandbox; it is
	// recorded with no connector named.
	ev := s.ev
	if m != nil {
		ev = m.ev
	}
	x := &Exchange{Sandbox: caller.Sandbox, Channel: requestlog.ChannelHTTP, Kind: r.Method, Path: r.URL.Path,
		Start: ev.Now(), RequestBytes: r.ContentLength}
	if m != nil {
		x.Connector = id
	}
	if caller.Token {
		x.ClientID, x.Scopes = caller.ClientID, caller.Scopes.String()
		if caller.Grant != nil {
			// Every granted scope, the HelseID-style ones included.
			x.Scopes = strings.Join(caller.Grant.Scope, " ")
		}
	}
	rw := &capture{ResponseWriter: w}
	var read *countingBody
	if r.Body != nil && r.Body != http.NoBody {
		read = &countingBody{ReadCloser: r.Body}
		if n := r.ContentLength; n > 0 {
			read.kept = make([]byte, 0, min(n, maxKeptRequest))
		}
		r.Body = read
	}
	defer func() {
		if read != nil {
			x.Request = read.kept
			if r.ContentLength < 0 {
				x.RequestBytes = read.n
			}
		}
		p := recover()
		if p == http.ErrAbortHandler {
			// The route chose to abort the answer: record it, and let
			// net/http drop the connection as it asked.
			defer panic(p)
		} else if p != nil {
			s.log.Error("connectors: a route panicked", "connector", id, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !rw.written {
				writeOutcome(rw, outcome.New(outcome.Fault, outcome.Exception, "the connector failed"))
			} else {
				rw.status = http.StatusInternalServerError
			}
		}
		x.Status, x.ResponseBytes = rw.statusOr200(), rw.size
		x.Response, x.ResponseType = rw.body, rw.Header().Get("Content-Type")
		x.RequestID = w.Header().Get("X-Request-Id")
		ev.Record(x)
	}()
	switch {
	case m == nil:
		writeOutcome(rw, outcome.New(outcome.Missing, outcome.NotFound,
			"there is no connector %q; the connectors are %s", id, strings.Join(s.routeIDs(), ", ")))
	case m.mux == nil:
		writeOutcome(rw, outcome.New(outcome.Missing, outcome.NotFound, "connector %s has no HTTP routes", id))
	default:
		s.serveRoute(rw, r, m, "/"+sub)
	}
}

// serveRoute dispatches to the connector's mux, answering what it does not
// route with an OperationOutcome rather than ServeMux's plain text.
func (s *Set) serveRoute(w http.ResponseWriter, r *http.Request, m *mounted, path string) {
	sub := r.Clone(r.Context())
	sub.URL.Path, sub.URL.RawPath = path, ""
	if _, pattern := m.mux.Handler(sub); pattern != "" {
		m.mux.ServeHTTP(w, sub)
		return
	}
	var allowed []string
	for _, rt := range m.routes {
		probe := sub.Clone(sub.Context())
		probe.Method = rt.Method
		if _, p := m.mux.Handler(probe); p != "" && !slices.Contains(allowed, rt.Method) {
			allowed = append(allowed, rt.Method)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeOutcome(w, outcome.New(outcome.NotAllowed, outcome.NotSupported,
			"%s does not take %s; it takes %s", r.URL.Path, r.Method, strings.Join(allowed, ", ")))
		return
	}
	var known []string
	for _, rt := range m.routes {
		known = append(known, rt.Method+" "+rt.Path)
	}
	writeOutcome(w, outcome.New(outcome.Missing, outcome.NotFound,
		"connector %s has no route %s %s; its routes are %s", m.c.ID(), r.Method, path, strings.Join(known, ", ")))
}

// routeIDs are the ids of connectors with routes.
func (s *Set) routeIDs() []string {
	var ids []string
	for _, c := range s.list {
		if s.byID[c.ID()].mux != nil {
			ids = append(ids, c.ID())
		}
	}
	if len(ids) == 0 {
		return []string{"none"}
	}
	return ids
}

// WriteOutcome answers with err as an OperationOutcome: its status when it
// is an *outcome.Error, else 500 without its details. Connectors answer
// their HTTP errors with it.
func WriteOutcome(w http.ResponseWriter, err error) { writeOutcome(w, outcome.From(err)) }

func writeOutcome(w http.ResponseWriter, oe *outcome.Error) {
	w.Header().Set("Content-Type", "application/fhir+json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(interaction.Status(oe))
	_, _ = w.Write(oe.JSON())
}

// capture records what a route answered: status, size, and the start of
// the body for checks and for the issues of an error.
type capture struct {
	http.ResponseWriter
	status  int
	written bool
	size    int64
	body    []byte
}

func (w *capture) WriteHeader(status int) {
	if !w.written {
		w.status, w.written = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *capture) Write(p []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.size += int64(n)
	if room := requestlog.MaxOutcomeBytes + 1 - len(w.body); room > 0 {
		w.body = append(w.body, p[:min(n, room)]...)
	}
	return n, err
}

func (w *capture) statusOr200() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *capture) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts the bytes read from a request body and keeps the
// first maxKeptRequest of them, for checks.
type countingBody struct {
	io.ReadCloser
	n    int64
	kept []byte
}

// ReadBody reads a request's body of at most limit bytes, as
// io.ReadAll(http.MaxBytesReader(w, r.Body, limit)) does, with its error
// (*http.MaxBytesError past limit); a body whose Content-Length is given
// is read into one buffer of that size instead of one grown as it comes.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, limit)
	n := r.ContentLength
	if n <= 0 || n > limit {
		return io.ReadAll(rd)
	}
	buf := make([]byte, 0, n+1) // one byte more: the read that finds the end
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// maxKeptRequest bounds the request body an Exchange keeps for checks.
const maxKeptRequest = 1 << 20

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if room := maxKeptRequest - len(b.kept); room > 0 {
		b.kept = append(b.kept, p[:min(n, room)]...)
	}
	return n, err
}
