package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/fhirapi"
)

// RequestIDHeader carries the id of a request in and out.
const RequestIDHeader = "X-Request-Id"

// wellFormedRequestID reports whether id is one to keep: 1 to 64 of
// A-Z a-z 0-9 . _ -.
func wellFormedRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch b := id[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// requestID keeps a well-formed incoming request id (so that a supplier can
// correlate its logs with ours) or makes one, and echoes it. The header
// map is read and written under the canonical key directly.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		var id string
		if v := c.Request.Header[RequestIDHeader]; len(v) > 0 && wellFormedRequestID(v[0]) {
			id = v[0]
		} else {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set("request_id", id)
		c.Writer.Header()[RequestIDHeader] = []string{id}
		c.Next()
	}
}

// logRequests logs one line per request. It logs the path without the
// query, which may carry patient identifiers, and never headers.
func logRequests(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		// A client that hung up is not the server's fault: the work it
		// cancelled fails (often as a 500 nobody receives), and the line
		// says so at the level of any other request.
		gone := c.Request.Context().Err() != nil
		if status >= 500 && !gone {
			level = slog.LevelError
		}
		if !log.Enabled(c.Request.Context(), level) {
			return // the line would be dropped: make none
		}
		// The record is made here rather than by Logger.LogAttrs, which
		// walks the stack for the caller's pc on every line: the source of
		// this line would only ever name this function.
		end := time.Now()
		r := slog.NewRecord(end, level, "request", 0)
		r.AddAttrs(
			slog.String("request_id", c.GetString("request_id")),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(end.Sub(start).Microseconds())/1000),
			slog.Int("bytes", c.Writer.Size()),
		)
		if len(c.Errors) > 0 {
			r.AddAttrs(slog.String("error", c.Errors.String()))
		}
		if gone {
			r.AddAttrs(slog.Bool("client_gone", true))
		}
		_ = log.Handler().Handle(c.Request.Context(), r)
	}
}

// recoverPanics turns a panic in a handler into a 500 OperationOutcome and
// a logged stack, and keeps the server running.
func recoverPanics(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.ErrorContext(c.Request.Context(), "panic", "request_id", c.GetString("request_id"), "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if c.Writer.Written() {
				c.Abort()
				return
			}
			oe := outcome.New(outcome.Fault, outcome.Exception,
				"internal server error (request id %s)", c.GetString("request_id"))
			c.Header("Content-Type", "application/fhir+json; charset=utf-8")
			c.AbortWithStatus(fhirapi.Status(oe))
			_, _ = c.Writer.Write(oe.JSON())
		}()
		c.Next()
	}
}

// notFound answers paths no route serves, as an OperationOutcome under the
// FHIR bases and as JSON elsewhere.
func notFound(admin gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, adminAPIPath+"/") {
			admin(c) // an RFC 9457 problem, as the rest of the admin API answers
			return
		}
		oe := outcome.New(outcome.Missing, outcome.NotFound, "nothing is served at %q", c.Request.URL.Path)
		if strings.HasPrefix(c.Request.URL.Path, "/fhir") || strings.HasPrefix(c.Request.URL.Path, "/sandboxes/") {
			c.Data(fhirapi.Status(oe), "application/fhir+json; charset=utf-8", oe.JSON())
			return
		}
		c.JSON(http.StatusNotFound, gin.H{"error": "not_found", "error_description": oe.Issues[0].Diagnostics})
	}
}
