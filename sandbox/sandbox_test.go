package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
)

func newGateway(t *testing.T) (*gin.Engine, *bytes.Buffer) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var logs bytes.Buffer
	g := New(Defaults(), store, slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { g.Close() })
	return g.Handler.(*gin.Engine), &logs
}

func get(h http.Handler, path string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// A request whose client hung up is logged as such, at info: the 500 that
// its cancelled work produced reached nobody and is not a server fault.
// A 500 of a client still there stays an error.
func TestLog_ClientThatHungUpIsNotAnError(t *testing.T) {
	e, logs := newGateway(t)
	e.GET("/fhir-test-fail", func(c *gin.Context) { c.Status(http.StatusInternalServerError) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/fhir-test-fail", nil).WithContext(ctx)
	e.ServeHTTP(httptest.NewRecorder(), req)
	line := logs.String()
	if !strings.Contains(line, `"client_gone":true`) || strings.Contains(line, `"level":"ERROR"`) {
		t.Errorf("a hung-up client's request logged as %s", line)
	}
	logs.Reset()
	get(e, "/fhir-test-fail", nil)
	if line := logs.String(); !strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "client_gone") {
		t.Errorf("a 500 to a client still there logged as %s", line)
	}
}

func TestRecover_PanicBecomes500OperationOutcomeAndServerGoesOn(t *testing.T) {
	e, logs := newGateway(t)
	e.GET("/fhir-test-panic", func(*gin.Context) { panic("boom") })
	rec := get(e, "/fhir-test-panic", nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	var oo struct {
		ResourceType string
		Issue        []struct{ Code, Diagnostics string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &oo); err != nil || oo.ResourceType != "OperationOutcome" || oo.Issue[0].Code != "exception" {
		t.Fatalf("body %s", rec.Body)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Error("panic value leaked to the client")
	}
	if !strings.Contains(logs.String(), `"panic":"boom"`) {
		t.Errorf("panic not logged: %s", logs)
	}
	if get(e, "/fhir/metadata", nil).Code != http.StatusOK {
		t.Error("server does not go on after a panic")
	}
}

func TestRequestID_KeepsWellFormedIncomingAndMakesOtherwise(t *testing.T) {
	e, logs := newGateway(t)
	tests := []struct{ in, want string }{
		{"supplier-req-42", "supplier-req-42"},
		{"bad id with spaces", ""},
		{strings.Repeat("x", 65), ""},
		{"", ""},
	}
	for _, tt := range tests {
		rec := get(e, "/fhir/metadata", map[string]string{RequestIDHeader: tt.in})
		got := rec.Header().Get(RequestIDHeader)
		if tt.want != "" && got != tt.want {
			t.Errorf("incoming %q: echoed %q", tt.in, got)
		}
		if tt.want == "" && (got == tt.in || !wellFormedRequestID(got)) {
			t.Errorf("incoming %q: made %q", tt.in, got)
		}
		if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) {
			t.Errorf("request id %q not in the log", got)
		}
	}
}

func TestLog_OmitsQueryAndHeaders(t *testing.T) {
	e, logs := newGateway(t)
	get(e, "/fhir/Patient?identifier=urn:oid:2.16.578.1.12.4.1.4.1|01818512345", map[string]string{"Authorization": "Bearer secret-token"})
	if s := logs.String(); strings.Contains(s, "01818512345") || strings.Contains(s, "secret-token") || !strings.Contains(s, `"path":"/fhir/Patient"`) {
		t.Errorf("log line: %s", s)
	}
}

func TestNotFound_OutsideFHIRIsJSONAndInsideIsOutcome(t *testing.T) {
	e, _ := newGateway(t)
	if rec := get(e, "/nothing", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), `"error":"not_found"`) {
		t.Errorf("/nothing: %d %s", rec.Code, rec.Body)
	}
	if rec := get(e, "/fhirx", nil); rec.Code != 404 || !strings.Contains(rec.Body.String(), "OperationOutcome") {
		t.Errorf("/fhirx: %d %s", rec.Code, rec.Body)
	}
}

func TestConfig_EnvThenFlagsAndValidation(t *testing.T) {
	c := Defaults()
	env := map[string]string{"HPS_ADDR": "127.0.0.1:9999", "HPS_DATA": "/tmp/x", "HPS_MAX_BODY": "2048", "HPS_SEARCH_TIMEOUT": "1500ms",
		"HPS_SUBSCRIPTION_TAKEOVER": "3s"}
	if err := c.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9999" || c.DataDir != "/tmp/x" || c.MaxBodyBytes != 2048 || c.SearchTimeout != 1500*time.Millisecond ||
		c.SubscriptionTakeover != 3*time.Second {
		t.Fatalf("env not applied: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Config{
		{Addr: "nohostport", DataDir: "d", MaxBodyBytes: 4096, LogLevel: "info"},
		{Addr: ":1", DataDir: " ", MaxBodyBytes: 4096, LogLevel: "info"},
		{Addr: ":1", DataDir: "d", MaxBodyBytes: 10, LogLevel: "info"},
		{Addr: ":1", DataDir: "d", MaxBodyBytes: 4096, LogLevel: "loud"},
		{Addr: ":1", DataDir: "d", MaxBodyBytes: 4096, LogLevel: "info", PublicURL: "sandbox.example"},
		{Addr: ":1", DataDir: "d", MaxBodyBytes: 4096, LogLevel: "info", SearchTimeout: time.Millisecond},
		{Addr: ":1", DataDir: "d", MaxBodyBytes: 4096, LogLevel: "info", SubscriptionTakeover: 100 * time.Millisecond},
		{Addr: ":1", DataDir: "d", MaxBodyBytes: 4096, LogLevel: "info", SubscriptionTakeover: time.Hour},
	}
	for _, b := range bad {
		if b.SearchTimeout == 0 {
			b.SearchTimeout = 5 * time.Second // valid, so that each fails for its own reason
		}
		if err := b.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", b)
		}
	}
	if err := c.LoadEnv(func(k string) string { return map[string]string{"HPS_MAX_BODY": "ten"}[k] }); err == nil {
		t.Error("HPS_MAX_BODY=ten accepted")
	}
	if err := c.LoadEnv(func(k string) string { return map[string]string{"HPS_SEARCH_TIMEOUT": "5"}[k] }); err == nil {
		t.Error("HPS_SEARCH_TIMEOUT=5 (no unit) accepted")
	}
	if err := c.LoadEnv(func(k string) string { return map[string]string{"HPS_SUBSCRIPTION_TAKEOVER": "soon"}[k] }); err == nil {
		t.Error("HPS_SUBSCRIPTION_TAKEOVER=soon accepted")
	}
}

// requestIDGrammar is the rule wellFormedRequestID implements, spelt as a
// regular expression.
var requestIDGrammar = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// FuzzWellFormedRequestID: the scan accepts exactly what the grammar does.
func FuzzWellFormedRequestID(f *testing.F) {
	for _, s := range []string{"supplier-req-42", "a.b_c-D9", strings.Repeat("x", 64), strings.Repeat("x", 65),
		"", "bad id", "é", "a/b", "a\x00b", "abc\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := wellFormedRequestID(id), requestIDGrammar.MatchString(id); got != want {
			t.Errorf("wellFormedRequestID(%q) = %v, the grammar says %v", id, got, want)
		}
	})
}
