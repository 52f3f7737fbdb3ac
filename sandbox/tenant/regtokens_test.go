package tenant

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// register posts metadata to h for sandbox, with an initial access token
// when token is not empty, and returns the status and decoded body.
func register(t *testing.T, h http.Handler, sandbox, token, metadata string) (int, http.Header, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/register?sandbox="+sandbox, strings.NewReader(metadata))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	return rec.Code, rec.Header(), body
}

func TestRegistration_WithoutInitialAccessToken_OnlyTheReadScopesTheOwnerAllows(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	for id, scopes := range map[string]string{"reads": "patient/*.rs user/Observation.rs", "token-only": ""} {
		st := DefaultSettings()
		st.DynamicRegistration, st.RegistrationScopes = true, scopes
		if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: id, Name: id, SeedPatients: intp(-1), Settings: &st}); err != nil {
			t.Fatal(err)
		}
	}
	h := s.RegistrationHandler(func(r *http.Request) string { return r.URL.Query().Get("sandbox") })
	pub, _ := publicJWKS(t)
	public := func(scope string) string {
		return `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none","scope":"` + scope + `"}`
	}
	tests := []struct {
		name, sandbox, metadata string
		// wantScopes is the registered app's scopes; empty when refused
		// with invalid_client_metadata.
		wantScopes string
	}{
		{"allowed read scopes and launch scopes", "reads", public("launch openid fhirUser patient/*.rs"), "launch openid fhirUser patient/*.rs"},
		{"a narrower read scope", "reads", public("patient/Observation.rs user/Observation.r"), "patient/Observation.rs user/Observation.r"},
		{"v1 read within the allowance", "reads", public("patient/Patient.read"), "patient/Patient.read"},
		{"no scope gets the launch scopes and the allowance", "reads", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}`,
			"launch launch/patient launch/encounter openid fhirUser profile offline_access online_access patient/*.rs user/Observation.rs"},
		{"write scope", "reads", public("patient/*.cruds"), ""},
		{"v1 write scope", "reads", public("patient/Observation.write"), ""},
		{"create only", "reads", public("patient/Observation.c"), ""},
		{"read beyond the allowance", "reads", public("user/*.rs"), ""},
		{"system scope", "reads", public("system/*.rs"), ""},
		{"system write scope", "reads", public("system/*.cruds"), ""},
		{"backend service", "reads", `{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"scope":"system/*.cruds","jwks":` + string(pub) + `}`, ""},
		{"backend service asking for a read scope", "reads", `{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"scope":"patient/*.rs","jwks":` + string(pub) + `}`, ""},
		{"backend service asking for nothing", "reads", `{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"jwks":` + string(pub) + `}`, ""},
		{"no allowance: even a read scope", "token-only", public("patient/*.rs"), ""},
		{"no allowance: even no scope", "token-only", `{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := register(t, h, tt.sandbox, "", tt.metadata)
			if tt.wantScopes == "" {
				if status != http.StatusBadRequest || body["error"] != "invalid_client_metadata" ||
					!strings.Contains(body["error_description"].(string), "initial access token") {
					t.Fatalf("%d %v, want 400 invalid_client_metadata naming the initial access token", status, body)
				}
				return
			}
			if status != http.StatusCreated || body["scope"] != tt.wantScopes {
				t.Fatalf("%d %v, want 201 with scope %q", status, body, tt.wantScopes)
			}
		})
	}
	apps, _ := s.Apps(ctx, operator, "reads")
	for _, a := range apps {
		if strings.Contains(a.Scopes, "system/") || a.Type == "confidential-asymmetric" {
			t.Errorf("an anonymous registration made %s with %q", a.Type, a.Scopes)
		}
	}
}

func TestRegistration_InitialAccessToken_IsBoundToItsSandboxExpiresAndCountsItsUses(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, _ := newService(t, Options{Now: clock.Now})
	ctx := context.Background()
	for id, who := range map[string]*Account{"acme-a": supplierA, "acme-b": supplierA, "bravo": supplierB, "closed": supplierA} {
		st := *openRegistration()
		st.DynamicRegistration = id != "closed"
		if _, err := s.CreateSandbox(ctx, who, NewSandbox{ID: id, Name: id, SeedPatients: intp(-1), Settings: &st}); err != nil {
			t.Fatal(err)
		}
	}
	issue := func(sandbox string, req NewRegistrationToken) string {
		t.Helper()
		_, tok, err := s.IssueRegistrationToken(ctx, supplierA, sandbox, req)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + tok
	}
	many := issue("acme-a", NewRegistrationToken{MaxUses: intp(0), ExpiresIn: 3600})
	once := issue("acme-a", NewRegistrationToken{})
	short := issue("acme-a", NewRegistrationToken{ExpiresIn: 60, MaxUses: intp(5)})
	revoked := issue("acme-a", NewRegistrationToken{MaxUses: intp(5)})
	list, _ := s.RegistrationTokens(ctx, supplierA, "acme-a")
	if len(list) != 4 || list[0].MaxUses != 5 || list[3].MaxUses != 0 {
		t.Fatalf("listed %+v, want the four tokens newest first", list)
	}
	if err := s.RevokeRegistrationToken(ctx, supplierA, "acme-a", list[0].ID); err != nil {
		t.Fatal(err)
	}
	ofB := issue("acme-b", NewRegistrationToken{MaxUses: intp(0)})
	ofClosed := issue("closed", NewRegistrationToken{})
	h := s.RegistrationHandler(func(r *http.Request) string { return r.URL.Query().Get("sandbox") })
	pub, _ := publicJWKS(t)
	backend := `{"client_name":"CI","token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"],"scope":"system/*.cruds","jwks":` + string(pub) + `}`

	tests := []struct {
		name, sandbox, token, metadata string
		advance                        time.Duration
		status                         int
	}{
		{"a token of the sandbox registers a backend service", "acme-a", many, backend, 0, 201},
		{"and may be used again", "acme-a", many, backend, 0, 201},
		{"a single-use token registers once", "acme-a", once, backend, 0, 201},
		{"and not twice", "acme-a", once, backend, 0, 401},
		{"a bad registration does not spend a use", "acme-a", short, `{"token_endpoint_auth_method":"private_key_jwt","grant_types":["client_credentials"]}`, 0, 400},
		{"a token of another sandbox of the same supplier", "acme-a", ofB, backend, 0, 401},
		{"a token of sandbox A at another supplier's sandbox", "bravo", many, backend, 0, 401},
		{"a revoked token", "acme-a", revoked, backend, 0, 401},
		{"an unknown token", "acme-a", "Bearer hpsiat_" + strings.Repeat("a", 52), backend, 0, 401},
		{"a token with another scheme", "acme-a", "Basic " + strings.TrimPrefix(many, "Bearer "), backend, 0, 401},
		{"an empty bearer token", "acme-a", "Bearer ", backend, 0, 401},
		{"a closed sandbox refuses its own token", "closed", ofClosed, backend, 0, 403},
		{"an expired token", "acme-a", short, backend, 61 * time.Second, 401},
		{"a token an hour old expired", "acme-a", many, backend, time.Hour, 401},
	}
	for _, tt := range tests {
		clock.Advance(tt.advance)
		status, header, body := register(t, h, tt.sandbox, tt.token, tt.metadata)
		if status != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, status, body, tt.status)
			continue
		}
		if status == http.StatusUnauthorized && (body["error"] != "invalid_token" ||
			!strings.HasPrefix(header.Get("WWW-Authenticate"), `Bearer realm="hp-sandbox", error="invalid_token"`)) {
			t.Errorf("%s: %v %q, want RFC 6750 invalid_token", tt.name, body, header.Get("WWW-Authenticate"))
		}
	}
	list, _ = s.RegistrationTokens(ctx, supplierA, "acme-a")
	uses := map[int]int{}
	for _, tok := range list {
		uses[tok.MaxUses] = tok.Uses
	}
	if uses[0] != 2 || uses[1] != 1 || uses[5] != 0 {
		t.Errorf("uses by max_uses %v, want 2 of the unlimited token, 1 of the single-use one, 0 of the short one", uses)
	}
	apps, _ := s.Apps(ctx, operator, "bravo")
	if len(apps) != 0 {
		t.Errorf("bravo has apps registered with acme's token: %v", apps)
	}
	apps, _ = s.Apps(ctx, operator, "acme-a")
	byToken := map[string]int{}
	for _, a := range apps {
		byToken[a.RegistrationToken]++
	}
	if byToken[list[len(list)-1].ID] != 2 || len(apps) != 3 {
		t.Errorf("apps by the token they registered with: %v, want 2 of the unlimited token and 3 in all", byToken)
	}
}

// TestOpen_WarnsOfAppsThatRegisteredThemselvesWithMoreThanReads: a
// registry of before initial access tokens may hold an attacker's backend
// service; the operator is told at start.
func TestOpen_WarnsOfAppsThatRegisteredThemselvesWithMoreThanReads(t *testing.T) {
	dir := t.TempDir()
	s, store := newService(t, Options{Path: dir + "/" + FileName})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "old", Name: "Old", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	pub, _ := publicJWKS(t)
	for _, spec := range []NewApp{
		{Name: "Intruder", Type: "confidential-asymmetric", JWKS: pub, Scopes: "system/*.cruds"},
		{Name: "Reader", Type: "public", RedirectURIs: []string{"https://r.example/cb"}, Scopes: "launch patient/*.rs"},
	} {
		if _, _, err := s.registerApp(ctx, "old", spec, true); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	var logs strings.Builder
	s2, err := Open(ctx, Options{Path: dir + "/" + FileName, Store: store, BcryptCost: bcrypt.MinCost,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := logs.String(); strings.Count(got, "level=WARN") != 1 || !strings.Contains(got, "system/*.cruds") || strings.Contains(got, "patient/*.rs") {
		t.Errorf("logs at start:\n%s\nwant one warning, of the backend service", got)
	}
}

func TestRegistrationTokens_OnlyTheSandboxOwnerIssuesAndRevokes(t *testing.T) {
	s, _ := newService(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateSandbox(ctx, supplierA, NewSandbox{ID: "acme-dev", Name: "A", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	mine, _, err := s.IssueRegistrationToken(ctx, supplierA, "acme-dev", NewRegistrationToken{Description: "CI"})
	if err != nil || mine.CreatedBy != "alice" || mine.Description != "CI" || mine.MaxUses != 1 ||
		mine.Expires.Sub(mine.Created) != DefaultRegistrationTokenTTL {
		t.Fatalf("issued %+v %v", mine, err)
	}
	if _, _, err := s.IssueRegistrationToken(ctx, operator, "acme-dev", NewRegistrationToken{}); err != nil {
		t.Errorf("operator: %v", err)
	}
	for _, tt := range []struct {
		name string
		who  *Account
		want error
	}{{"reviewer", reviewer, ErrForbidden}, {"another supplier", supplierB, ErrNotFound}} {
		if _, _, err := s.IssueRegistrationToken(ctx, tt.who, "acme-dev", NewRegistrationToken{}); !errors.Is(err, tt.want) {
			t.Errorf("%s issues: %v, want %v", tt.name, err, tt.want)
		}
		if err := s.RevokeRegistrationToken(ctx, tt.who, "acme-dev", mine.ID); !errors.Is(err, tt.want) {
			t.Errorf("%s revokes: %v, want %v", tt.name, err, tt.want)
		}
	}
	if list, err := s.RegistrationTokens(ctx, reviewer, "acme-dev"); err != nil || len(list) != 2 {
		t.Errorf("reviewer lists %v %v, want both tokens", list, err)
	}
	if _, err := s.RegistrationTokens(ctx, supplierB, "acme-dev"); !errors.Is(err, ErrNotFound) {
		t.Errorf("another supplier lists: %v, want ErrNotFound", err)
	}
	for _, req := range []struct {
		field string
		req   NewRegistrationToken
	}{
		{"expires_in", NewRegistrationToken{ExpiresIn: 59}},
		{"expires_in", NewRegistrationToken{ExpiresIn: -1}},
		{"expires_in", NewRegistrationToken{ExpiresIn: int(MaxRegistrationTokenTTL/time.Second) + 1}},
		{"expires_in", NewRegistrationToken{ExpiresIn: 1 << 62}}, // overflows a Duration of seconds
		{"max_uses", NewRegistrationToken{MaxUses: intp(-1)}},
		{"max_uses", NewRegistrationToken{MaxUses: intp(MaxRegistrationTokenUses + 1)}},
		{"description", NewRegistrationToken{Description: strings.Repeat("x", 201)}},
	} {
		var ie *InvalidError
		if _, _, err := s.IssueRegistrationToken(ctx, supplierA, "acme-dev", req.req); !errors.As(err, &ie) || ie.Field != req.field {
			t.Errorf("%+v: %v, want an InvalidError of %s", req.req, err, req.field)
		}
	}
	// A deleted sandbox takes its tokens along; one made again under its
	// id starts without them.
	if err := s.DeleteSandbox(ctx, supplierA, "acme-dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSandbox(ctx, supplierB, NewSandbox{ID: "acme-dev", Name: "B", SeedPatients: intp(-1)}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.RegistrationTokens(ctx, operator, "acme-dev"); len(list) != 0 {
		t.Errorf("a new sandbox of a deleted one's id has its tokens: %v", list)
	}
}

func TestSettings_RegistrationScopesAreReadScopesOfPatientOrUserLevel(t *testing.T) {
	tests := []struct {
		scopes string
		ok     bool
	}{
		{"", true},
		{"patient/*.rs", true},
		{"patient/*.rs user/*.rs", true},
		{"patient/Observation.r patient/Patient.read user/Observation.s", true},
		{"patient/Observation.rs?category=vital-signs", true},
		{"patient/*.cruds", false},
		{"patient/*.write", false},
		{"patient/*.*", false},
		{"user/Observation.rsd", false},
		{"system/*.rs", false},
		{"launch", false},
		{"openid patient/*.rs", false},
		{"patient/Foo.qq", false},
	}
	for _, tt := range tests {
		st := DefaultSettings()
		st.RegistrationScopes = tt.scopes
		err := st.validate()
		var ie *InvalidError
		if tt.ok != (err == nil) || (err != nil && (!errors.As(err, &ie) || ie.Field != "settings.registration_scopes")) {
			t.Errorf("%q: %v, want ok=%v", tt.scopes, err, tt.ok)
		}
	}
	if d := DefaultSettings(); d.DynamicRegistration || d.RegistrationScopes != "" || !d.Secured {
		t.Errorf("DefaultSettings() = %+v, want secured and closed to registration", d)
	}
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// FuzzRegistrationToken: whatever the Authorization header, a registration
// that needs a token is 401 or 400, never registered, never a 500.
func FuzzRegistrationToken(f *testing.F) {
	s, _ := newService(f, Options{Default: Sandbox{Settings: *openRegistration()}})
	_, token, err := s.IssueRegistrationToken(context.Background(), operator, "default", NewRegistrationToken{MaxUses: intp(0)})
	if err != nil {
		f.Fatal(err)
	}
	h := s.RegistrationHandler(func(*http.Request) string { return "default" })
	for _, seed := range []string{"", "Bearer", "Bearer ", "Bearer x", "bearer " + token + "x", "Basic Zm9vOmJhcg==", "Bearer " + token[:10],
		"Bearer  " + strings.ToUpper(token), "Bearer hpsiat_"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, auth string) {
		if scheme, rest, _ := strings.Cut(auth, " "); strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == token {
			t.Skip("the input is the real token, which registers")
		}
		req := httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(
			`{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"none","scope":"patient/*.cruds"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header["Authorization"] = []string{auth}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusBadRequest {
			t.Fatalf("Authorization %q: %d %s", auth, rec.Code, rec.Body)
		}
	})
}
