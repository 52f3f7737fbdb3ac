package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/conformance"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// The accounts of the tests: an operator, a reviewer and two suppliers.
const (
	opUser    = "op"
	revUser   = "rev"
	aliceUser = "alice" // supplier acme
	bobUser   = "bob"   // supplier bravo
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // no route listing on stdout
	os.Exit(m.Run())
}

func password(user string) string { return "password-of-" + user }

// env is an API over a real registry and embedded FHIR store, served on
// loopback.
type env struct {
	t       testing.TB
	srv     *httptest.Server
	tenants *tenant.Service
	store   fhirstore.Store
	log     *requestlog.MemoryStore
	dropped atomic.Uint64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	log := requestlog.NewMemoryStore(100)
	tenants, err := tenant.Open(ctx, tenant.Options{Path: dir + "/" + tenant.FileName, Store: store, BcryptCost: bcrypt.MinCost,
		OnDelete: func(ctx context.Context, sb string) { _ = log.DeleteSandbox(ctx, sb) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tenants.Close() })
	if _, err := tenants.EnsureOperator(ctx, opUser, password(opUser)); err != nil {
		t.Fatal(err)
	}
	op, err := tenants.Account(ctx, opUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, acc := range []tenant.NewAccount{
		{Username: revUser, Role: tenant.RoleReviewer},
		{Username: aliceUser, Role: tenant.RoleSupplier, Supplier: "acme"},
		{Username: bobUser, Role: tenant.RoleSupplier, Supplier: "bravo"},
	} {
		acc.Password = password(acc.Username)
		if _, err := tenants.CreateAccount(ctx, op, acc); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, tenants: tenants, store: store, log: log}
	api := New(Deps{
		Tenants:              tenants,
		Requests:             log,
		Dropped:              e.dropped.Load,
		FHIRBase:             func(sb string) string { return "http://127.0.0.1/fhir/" + sb },
		RegistrationEndpoint: func(sb string) string { return "http://127.0.0.1/fhir/" + sb + "/register" },
		Conformance: &conformance.Runner{Registry: conformance.Default(), Log: log,
			Reports: conformance.StoreReports{Store: store}, FHIRBase: func(sb string) string { return "http://127.0.0.1/fhir/" + sb }},
	})
	engine := gin.New()
	api.Mount(engine.Group("/admin/api"))
	e.srv = httptest.NewServer(engine)
	t.Cleanup(e.srv.Close)
	return e
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the answer's body into v.
func (a answer) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
}

// problem decodes a problem answer.
func (a answer) problem(t testing.TB) Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("answer %d has Content-Type %q, want application/problem+json: %s", a.status, ct, a.body)
	}
	var p Problem
	a.json(t, &p)
	return p
}

// do sends a request to the API as user (no credentials when user is
// empty). body is sent as JSON unless it is a string or []byte, which go
// as they are. Every answer is checked against the OpenAPI document.
func (e *env) do(method, path, user string, body any) answer {
	e.t.Helper()
	return e.doWith(method, path, body, func(r *http.Request) {
		if user != "" {
			r.SetBasicAuth(user, password(user))
		}
	})
}

func (e *env) doWith(method, path string, body any, edit func(*http.Request)) answer {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+"/admin/api"+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	edit(req)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: data}
	checkDocumented(e.t, method, path, a)
	return a
}

// must is do that expects status.
func (e *env) must(status int, method, path, user string, body any) answer {
	e.t.Helper()
	a := e.do(method, path, user, body)
	if a.status != status {
		e.t.Fatalf("%s %s as %q: %d %s, want %d", method, path, user, a.status, a.body, status)
	}
	return a
}

// sandbox creates a sandbox of user (empty: no personas or generated patients, which
// keeps tests fast) and returns it.
func (e *env) sandbox(user, id string) map[string]any {
	e.t.Helper()
	req := map[string]any{"id": id, "name": "Sandbox " + id, "seed_patients": -1}
	if user == opUser {
		req["supplier"] = "acme"
	}
	var sb map[string]any
	e.must(http.StatusCreated, "POST", "/sandboxes", user, req).json(e.t, &sb)
	return sb
}

// app registers a public app in sandbox as user and returns its client_id.
func (e *env) app(user, sandbox string) string {
	e.t.Helper()
	var app map[string]any
	e.must(http.StatusCreated, "POST", "/sandboxes/"+sandbox+"/apps", user,
		map[string]any{"name": "App", "type": "public", "redirect_uris": []string{"https://app.example/cb"}}).json(e.t, &app)
	return app["client_id"].(string)
}
