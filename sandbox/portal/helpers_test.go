package portal

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/crypto/bcrypt"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox/requestlog"
	"hpsandbox/sandbox/tenant"
)

// The accounts of the tests: an operator, a reviewer and two suppliers,
// each with a sandbox and an app in it.
const (
	opUser, opPass       = "op", "operator-password"
	revUser, revPass     = "rev", "reviewer-password"
	aliceUser, alicePass = "alice", "alice-password"
	bobUser, bobPass     = "bob", "bob-password-1"
	acmeSandbox          = "acme-dev"
	bravoSandbox         = "bravo-dev"
	// A persona every seeded sandbox has, with encounters.
	persona          = "persona-pregnant"
	personaEncounter = "persona-pregnant-enc-1"
	launchPathTest   = "/auth/ehr-launch"
)

var testKey = bytes.Repeat([]byte("k"), 32)

// world is what the tests share, since seeding a sandbox takes seconds
// under the race detector: a real tenant service over a real embedded
// store, the test accounts, a sandbox of the personas for each supplier
// with an app in it, and a request log. Tests that change it make their
// own sandboxes and accounts.
type world struct {
	tenants  *tenant.Service
	store    fhirstore.Store
	log      *requestlog.MemoryStore
	acmeApp  *tenant.App // alice's, with a launch URL
	bravoApp *tenant.App // bob's
}

var (
	worldOnce sync.Once
	theWorld  *world
	worldErr  error
	worldDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theWorld != nil {
		theWorld.tenants.Close()
		theWorld.store.Close()
	}
	if worldDir != "" {
		os.RemoveAll(worldDir)
	}
	os.Exit(code)
}

func sharedWorld(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() { theWorld, worldErr = buildWorld() })
	if worldErr != nil {
		t.Fatal(worldErr)
	}
	return theWorld
}

func buildWorld() (*world, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "portal-test-")
	if err != nil {
		return nil, err
	}
	worldDir = dir
	store, err := sqlite.Open(ctx, dir, sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	// Every test signs in from 127.0.0.1 to this one registry, so the
	// per-address count would add up across tests; accounts are counted
	// as in production.
	limits := tenant.DefaultSignInLimits()
	limits.PerAddress.Free = 1 << 20
	signUps := tenant.DefaultSignUpLimit()
	signUps.Free = 1 << 20
	tenants, err := tenant.Open(ctx, tenant.Options{Store: store, Path: dir + "/" + tenant.FileName, BcryptCost: bcrypt.MinCost,
		SignInLimits: &limits, SignUpLimit: &signUps})
	if err != nil {
		store.Close()
		return nil, err
	}
	w := &world{tenants: tenants, store: store, log: requestlog.NewMemoryStore(0)}
	if _, err := tenants.EnsureOperator(ctx, opUser, opPass); err != nil {
		return w, err
	}
	op, err := tenants.Account(ctx, opUser)
	if err != nil {
		return w, err
	}
	for _, a := range []tenant.NewAccount{
		{Username: revUser, Role: tenant.RoleReviewer, Password: revPass},
		{Username: aliceUser, Name: "Alice Acme", Role: tenant.RoleSupplier, Supplier: "acme", Password: alicePass},
		{Username: bobUser, Name: "Bob Bravo", Role: tenant.RoleSupplier, Supplier: "bravo", Password: bobPass},
	} {
		if _, err := tenants.CreateAccount(ctx, op, a); err != nil {
			return w, err
		}
	}
	if w.acmeApp, err = w.sandboxWithApp(aliceUser, acmeSandbox, "https://acme.example/launch"); err != nil {
		return w, err
	}
	if w.bravoApp, err = w.sandboxWithApp(bobUser, bravoSandbox, "https://bravo.example/launch"); err != nil {
		return w, err
	}
	return w, nil
}

// sandboxWithApp creates a supplier's sandbox of the personas only and
// registers a public app with a launch URL in it.
func (w *world) sandboxWithApp(user, id, launchURL string) (*tenant.App, error) {
	ctx := context.Background()
	who, err := w.tenants.Account(ctx, user)
	if err != nil {
		return nil, err
	}
	zero := 0
	if _, err := w.tenants.CreateSandbox(ctx, who, tenant.NewSandbox{ID: id, Name: "Sandbox " + id, SeedPatients: &zero}); err != nil {
		return nil, err
	}
	app, _, err := w.tenants.RegisterApp(ctx, who, id, tenant.NewApp{Name: "App of " + user, Type: "public",
		RedirectURIs: []string{"https://" + user + ".example/cb"}, LaunchURL: launchURL})
	return app, err
}

// env is a portal of its own (clock, server, Deps) over the shared world.
type env struct {
	*world
	srv   *httptest.Server
	clock *testClock
}

// testClock is the portal's settable clock. It starts at the real time, so
// that cookie expiry in the client's jar and in the portal agree until a
// test moves it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newEnv serves a new portal over the shared world; adjust changes the
// Deps before New, knowing the portal's URL.
func newEnv(t *testing.T, adjust func(d *Deps, portalURL string)) *env {
	t.Helper()
	e := &env{world: sharedWorld(t), clock: &testClock{t: time.Now()}}
	// The handler is made after the server, which adjust may need the URL
	// of; an atomic store orders it before requests that the race
	// detector cannot see ordered (those of a browser in another process).
	var h atomic.Pointer[gin.Engine]
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Load().ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	d := Deps{
		Tenants: e.tenants, Store: e.store, Requests: e.log,
		FHIRBase:      func(sb string) string { return "http://127.0.0.1:8080/sandboxes/" + sb + "/fhir" },
		EHRLaunchPath: launchPathTest, SessionKey: testKey, Now: e.clock.Now,
	}
	if adjust != nil {
		adjust(&d, e.srv.URL)
	}
	p, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.TestMode)
	eng := gin.New()
	p.Mount(eng)
	h.Store(eng)
	return e
}

func (e *env) account(t *testing.T, user string) *tenant.Account {
	t.Helper()
	a, err := e.tenants.Account(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// browser is a client with a cookie jar that does not follow redirects,
// so that tests see where the portal sends it.
type browser struct {
	t    *testing.T
	env  *env
	http *http.Client
	// csrf is the token of the browser's session, read from its last page
	// with a form.
	csrf string
}

func (e *env) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, env: e, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response, read.
type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.env.srv.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits form with the browser's CSRF token, unless the form sets
// the csrf field itself. A path is below the portal; a URL is anywhere.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form[csrfField]; !ok {
		form.Set(csrfField, b.csrf)
	}
	if !strings.HasPrefix(path, "http") {
		path = b.env.srv.URL + path
	}
	req, err := http.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login signs in through the form and loads the dashboard.
func (b *browser) login(user, pass string) {
	b.t.Helper()
	b.get("/portal/login")
	got := b.post("/portal/login", url.Values{"username": {user}, "password": {pass}})
	if got.status != http.StatusSeeOther || got.location() != "/portal/" {
		b.t.Fatalf("signing in as %s: %d to %q, want 303 to /portal/", user, got.status, got.location())
	}
	if d := b.get("/portal/"); d.status != http.StatusOK {
		b.t.Fatalf("dashboard after sign-in: %d", d.status)
	}
}

// signedIn returns a browser signed in as user.
func (e *env) signedIn(t *testing.T, user string) *browser {
	t.Helper()
	b := e.browser(t)
	b.login(user, map[string]string{opUser: opPass, revUser: revPass, aliceUser: alicePass, bobUser: bobPass}[user])
	return b
}

func wantStatus(t *testing.T, what string, got page, status int) {
	t.Helper()
	if got.status != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, got.status, status, excerpt(got.body))
	}
}

func wantContains(t *testing.T, what string, got page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if !strings.Contains(got.body, s) {
			t.Errorf("%s: page lacks %q; body:\n%s", what, s, excerpt(got.body))
		}
	}
}

func wantLacks(t *testing.T, what string, got page, parts ...string) {
	t.Helper()
	for _, s := range parts {
		if strings.Contains(got.body, s) {
			t.Errorf("%s: page has %q, which it must not", what, s)
		}
	}
}

// excerpt is the main part of a page, for failure messages.
func excerpt(body string) string {
	if i := strings.Index(body, "<main>"); i >= 0 {
		body = body[i:]
	}
	if len(body) > 1500 {
		body = body[:1500] + "…"
	}
	return body
}
