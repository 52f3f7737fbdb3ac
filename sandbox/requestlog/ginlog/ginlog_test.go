package ginlog_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/requestlog/ginlog"
)

const oo422 = `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"required","diagnostics":"status is required","expression":["Observation.status"]}]}`

// newEngine is a small gateway: request ids, recovery, the request log,
// an auth guard that fills the Note, and a few FHIR-like routes.
func newEngine(rec *requestlog.Recorder) *gin.Engine {
	gin.SetMode(gin.TestMode)
	e := gin.New()
	e.Use(func(c *gin.Context) {
		// Like the gateway's request id middleware: it sets a key, and
		// answers with the id (here the one the test sent).
		c.Set("request_id", c.GetHeader("X-Request-Id"))
		c.Header("X-Request-Id", c.GetHeader("X-Request-Id"))
		c.Next()
	})
	e.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) { c.AbortWithStatus(http.StatusInternalServerError) }))
	e.Use(ginlog.Middleware(rec, func(c *gin.Context) string { return c.Param("sandbox") }))
	sb := e.Group("/sandboxes/:sandbox/fhir", func(c *gin.Context) {
		if client := c.GetHeader("X-Test-Client"); client != "" {
			if n := ginlog.NoteOf(c); n != nil {
				n.ClientID, n.Scopes = client, "patient/*.rs openid"
			}
		}
		c.Next()
	})
	sb.GET("/Patient/:id", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/fhir+json", []byte(`{"resourceType":"Patient","id":"`+c.Param("id")+`"}`))
	})
	sb.PUT("/Patient/:id", func(c *gin.Context) { c.Status(http.StatusOK) })
	sb.POST("/Observation", func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		c.Data(http.StatusUnprocessableEntity, "application/fhir+json; charset=utf-8", []byte(oo422))
	})
	sb.GET("/Observation", func(c *gin.Context) {
		// An error written as a string, in two pieces.
		c.Header("Content-Type", "application/fhir+json")
		c.Status(http.StatusBadRequest)
		_, _ = c.Writer.WriteString(oo422[:40])
		_, _ = c.Writer.WriteString(oo422[40:])
	})
	sb.GET("/Binary/:id", func(c *gin.Context) {
		c.Data(http.StatusNotFound, "application/fhir+json", []byte(oo422+strings.Repeat(" ", requestlog.MaxOutcomeBytes)))
	})
	sb.GET("/Medication/:id", func(c *gin.Context) {
		c.Data(http.StatusNotFound, "application/fhir+json", []byte(oo422+strings.Repeat(" ", 10<<10)))
	})
	sb.GET("/connector-refused", func(c *gin.Context) {
		// As the gateway refuses a token on a connector's route.
		if n := ginlog.NoteOf(c); n != nil {
			n.Connector = "example"
		}
		c.Data(http.StatusUnauthorized, "application/fhir+json", []byte(oo422))
	})
	sb.GET("/busy", func(c *gin.Context) {
		c.Header("Retry-After", c.Query("after"))
		c.Status(http.StatusTooManyRequests)
	})
	sb.GET("/html", func(c *gin.Context) { c.Data(http.StatusForbidden, "text/html", []byte(oo422)) })
	sb.GET("/panic", func(c *gin.Context) { panic("boom") })
	e.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	// Like the authorization server: a net/http handler, outside any
	// sandbox's routes, that learns the sandbox from the client.
	e.POST("/auth/token", ginlog.ShareNote, gin.WrapH(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := requestlog.NoteFrom(r.Context()); n != nil {
			n.Sandbox, n.ClientID = "s3", "backend-1"
			n.OAuth = &requestlog.OAuth{Endpoint: "token", GrantType: "client_credentials", ClientAuth: "private_key_jwt"}
		}
		w.WriteHeader(http.StatusOK)
	})))
	return e
}

type exchange struct {
	method, path string
	body         io.Reader
	client       string
	header       http.Header
}

func TestMiddleware_RecordsEachExchange(t *testing.T) {
	wantIssues := []requestlog.Issue{{Severity: "error", Code: "required", Diagnostics: "status is required", Expression: "Observation.status"}}
	tests := []struct {
		name  string
		ex    exchange
		check func(t *testing.T, e requestlog.Entry, respBytes int64)
	}{
		{"Read_RecordsEveryFieldAndRedactsTheToken",
			exchange{"GET", "/sandboxes/s1/fhir/Patient/7?_format=json&access_token=eyJ.secret.sig", nil, "app-1", nil},
			func(t *testing.T, e requestlog.Entry, respBytes int64) {
				want := requestlog.Entry{ID: e.ID, Sandbox: "s1", Time: e.Time, ClientID: "app-1", Method: "GET",
					Path: "/sandboxes/s1/fhir/Patient/7", Query: "_format=json&access_token=REDACTED",
					Status: 200, Latency: e.Latency, RequestBytes: 0, ResponseBytes: respBytes,
					Scopes: "patient/*.rs openid", RequestID: e.RequestID}
				if !equalEntries(e, want) {
					t.Fatalf("got  %+v\nwant %+v", e, want)
				}
			}},
		{"CreateRefused_KeepsTheOutcomeIssuesAndSizes",
			exchange{"POST", "/sandboxes/s2/fhir/Observation", strings.NewReader(`{"resourceType":"Observation"}`), "app-2", nil},
			func(t *testing.T, e requestlog.Entry, respBytes int64) {
				if e.Status != 422 || e.RequestBytes != 30 || e.ResponseBytes != int64(len(oo422)) || e.ResponseBytes != respBytes ||
					!equalIssues(e.Issues, wantIssues) {
					t.Fatalf("got %+v", e)
				}
			}},
		{"ChunkedBody_CountsTheBytesRead",
			exchange{"POST", "/sandboxes/s1/fhir/Observation", io.MultiReader(strings.NewReader(strings.Repeat("x", 5000))), "", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.RequestBytes != 5000 || e.ClientID != "" || e.Scopes != "" {
					t.Fatalf("got %+v, want 5000 request bytes and no client", e)
				}
			}},
		{"ErrorWrittenAsStrings_KeepsIssues",
			exchange{"GET", "/sandboxes/s1/fhir/Observation?code=8867-4", nil, "app-1", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.Status != 400 || e.Query != "code=8867-4" || !equalIssues(e.Issues, wantIssues) {
					t.Fatalf("got %+v", e)
				}
			}},
		{"LargeErrorBody_NoIssuesButFullSize",
			exchange{"GET", "/sandboxes/s1/fhir/Binary/1", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, respBytes int64) {
				if e.Status != 404 || e.Issues != nil || respBytes <= requestlog.MaxOutcomeBytes || e.ResponseBytes != respBytes {
					t.Fatalf("got %+v (response of %d bytes)", e, respBytes)
				}
			}},
		{"MidSizeErrorBody_KeepsIssues",
			exchange{"GET", "/sandboxes/s1/fhir/Medication/1", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, respBytes int64) {
				if e.Status != 404 || !equalIssues(e.Issues, wantIssues) || e.ResponseBytes != respBytes {
					t.Fatalf("got %+v (response of %d bytes)", e, respBytes)
				}
			}},
		{"ErrorNotJSON_NoIssues",
			exchange{"GET", "/sandboxes/s1/fhir/html", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.Status != 403 || e.Issues != nil {
					t.Fatalf("got %+v", e)
				}
			}},
		{"RefusedForAConnector_NamesTheConnectorOverHTTP",
			exchange{"GET", "/sandboxes/s1/fhir/connector-refused", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.Status != 401 || e.Connector != "example" || e.Channel != requestlog.ChannelHTTP || !equalIssues(e.Issues, wantIssues) {
					t.Fatalf("got %+v", e)
				}
			}},
		{"FHIRAPI_NamesNoConnector",
			exchange{"GET", "/sandboxes/s1/fhir/Patient/1", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.Connector != "" || e.Channel != "" {
					t.Fatalf("got %+v", e)
				}
			}},
		{"HeaderFacts_AcceptAndPreconditionsKept",
			exchange{"PUT", "/sandboxes/s1/fhir/Patient/1", nil, "", http.Header{
				"Accept": {"application/fhir+json"}, "If-Match": {`W/"3"`}, "If-None-Exist": {"identifier=x"}}},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.Accept != "application/fhir+json" || e.Preconditions != "If-Match If-None-Exist" {
					t.Fatalf("got Accept %q, Preconditions %q", e.Accept, e.Preconditions)
				}
			}},
		{"TooManyRequests_KeepsRetryAfter",
			exchange{"GET", "/sandboxes/s1/fhir/busy?after=7", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.Status != 429 || e.RetryAfter != 7*time.Second {
					t.Fatalf("status %d, RetryAfter %s", e.Status, e.RetryAfter)
				}
			}},
		{"RetryAfterDate_NotKept",
			exchange{"GET", "/sandboxes/s1/fhir/busy?after=Wed,+21+Oct+2026+07:28:00+GMT", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.RetryAfter != 0 {
					t.Fatalf("RetryAfter %s", e.RetryAfter)
				}
			}},
		{"AuthorizationServer_NoteNamesSandboxAndFacts",
			exchange{"POST", "/auth/token", nil, "", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				want := &requestlog.OAuth{Endpoint: "token", GrantType: "client_credentials", ClientAuth: "private_key_jwt"}
				if e.Sandbox != "s3" || e.ClientID != "backend-1" || !reflect.DeepEqual(e.OAuth, want) {
					t.Fatalf("got %+v (OAuth %+v)", e, e.OAuth)
				}
			}},
		{"Panic_RecordedAs500",
			exchange{"GET", "/sandboxes/s1/fhir/panic", nil, "app-1", nil},
			func(t *testing.T, e requestlog.Entry, _ int64) {
				if e.Status != 500 || e.ClientID != "app-1" {
					t.Fatalf("got %+v", e)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := requestlog.NewMemoryStore(100)
			rec := requestlog.New(store, requestlog.Options{})
			srv := httptest.NewServer(newEngine(rec))
			before := time.Now()
			respBytes := do(t, srv, tt.ex, "req-1")
			after := time.Now()
			// The client may read the whole response before the handler
			// chain has returned; closing the server waits for it.
			srv.Close()
			closeRecorder(t, rec)
			if rec.Dropped() != 0 || rec.Failed() != 0 {
				t.Fatalf("Dropped %d, Failed %d", rec.Dropped(), rec.Failed())
			}
			entries := all(t, store)
			if len(entries) != 1 {
				t.Fatalf("recorded %+v, want one entry", entries)
			}
			e := entries[0]
			if e.RequestID != "req-1" || e.Time.Before(before) || e.Time.After(after) || e.Latency <= 0 || e.Latency > time.Since(before) {
				t.Fatalf("request id, time or latency wrong: %+v (request between %v and %v)", e, before, after)
			}
			tt.check(t, e, respBytes)
		})
	}
}

func TestMiddleware_NoSandbox_NotRecorded(t *testing.T) {
	store := &countingStore{}
	rec := requestlog.New(store, requestlog.Options{})
	srv := httptest.NewServer(newEngine(rec))
	defer srv.Close()
	do(t, srv, exchange{"GET", "/healthz", nil, "", nil}, "h")
	srv.Close()
	closeRecorder(t, rec)
	if n := store.written(); n != 0 {
		t.Fatalf("recorded %d entries, want none", n)
	}
}

func TestNoteOf_OutsideMiddleware_Nil(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	if n := ginlog.NoteOf(c); n != nil {
		t.Fatalf("NoteOf = %+v, want nil", n)
	}
}

func TestMiddleware_RequestPath_AddsNoAllocation(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's sync.Pool drops items at random, so allocation counts vary; make test runs this test again without it")
	}
	rec := requestlog.New(&countingStore{}, requestlog.Options{QueueSize: 1 << 16})
	defer closeRecorder(t, rec)
	off, on := gin.New(), newEngine(rec)
	off.Use(func(c *gin.Context) {
		c.Set("request_id", "")
		c.Header("X-Request-Id", "")
		c.Next()
	}, gin.CustomRecovery(func(*gin.Context, any) {}))
	off.GET("/sandboxes/:sandbox/fhir/Patient/:id", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/fhir+json", []byte(`{"resourceType":"Patient","id":"`+c.Param("id")+`"}`))
	})
	allocs := func(e *gin.Engine) float64 {
		req := httptest.NewRequest("GET", "/sandboxes/s1/fhir/Patient/1?_count=1", nil)
		w := httptest.NewRecorder()
		return testing.AllocsPerRun(200, func() {
			w.Body.Reset()
			e.ServeHTTP(w, req)
		})
	}
	// The guard's closure of the test engine allocates nothing either,
	// so any difference is the request log's.
	a, b := allocs(off), allocs(on)
	t.Logf("allocations per request: %v without the request log, %v with it", a, b)
	if b > a {
		t.Fatalf("%v allocations with the request log, %v without", b, a)
	}
}

func do(t *testing.T, srv *httptest.Server, ex exchange, id string) int64 {
	t.Helper()
	req, err := http.NewRequest(ex.method, srv.URL+ex.path, ex.body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", id)
	if ex.client != "" {
		req.Header.Set("X-Test-Client", ex.client)
	}
	for k, vs := range ex.header {
		req.Header[k] = vs
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// all returns the entries of the test's sandboxes.
func all(t *testing.T, s *requestlog.MemoryStore) []requestlog.Entry {
	t.Helper()
	var out []requestlog.Entry
	for _, sandbox := range []string{"s1", "s2", "s3"} {
		p, err := s.Query(context.Background(), requestlog.Filter{Sandbox: sandbox, Limit: requestlog.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Entries...)
	}
	return out
}

func equalIssues(a, b []requestlog.Issue) bool { return slices.Equal(a, b) }

func equalEntries(a, b requestlog.Entry) bool { return reflect.DeepEqual(a, b) }
