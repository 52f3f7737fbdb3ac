package sandbox

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/connectors/helseid/helseidtest"
	"hpsandbox/connectors/jft"
	"hpsandbox/connectors/vkp"
	"hpsandbox/connectors/vkp/sim"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox/tenant"
)

// hubEnv is a gateway serving the hub connectors (VKP and JFT), with a
// secured supplier sandbox care-dev whose HelseID client registered
// itself with the hubs' scopes and a vkp-id of Steinkjer (5006).
type hubEnv struct {
	*gatewayEnv
	client *helseidtest.Client
	base   string // care-dev's root
}

const hubScopes = "nhn:jft/api nhn:vkp/api/user/DetectedIssue.write nhn:vkp/api/user/Encounter.write " +
	"nhn:vkp/api/user/Composition.write nhn:vkp/api/user/Patient.read nhn:vkp/api/user/EpisodeOfCare.read nhn:vkp/api/user/CarePlan.read"

func newHubEnv(t testing.TB) *hubEnv {
	t.Helper()
	env, iat := newHubGateway(t)
	client, err := registerHubClient(context.Background(), env.srv.URL, iat)
	if err != nil {
		t.Fatal(err)
	}
	return &hubEnv{gatewayEnv: env, client: client, base: env.srv.URL + "/sandboxes/care-dev"}
}

// newHubGateway is a gateway serving the hub connectors with the secured
// supplier sandbox care-dev, and an initial access token with which a
// client registers itself there (registerHubClient).
func newHubGateway(t testing.TB) (*gatewayEnv, string) {
	t.Helper()
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Connectors = vkp.ID + "," + jft.ID })
	ctx := context.Background()
	who := &tenant.Account{Username: "care-dev", Role: tenant.RoleSupplier, Supplier: "care"}
	// Tokens that outlive the gateway's nonce rotation the tests provoke.
	if _, err := env.tenants.CreateSandbox(ctx, who, tenant.NewSandbox{ID: "care-dev", Name: "Care", SeedPatients: intPtr(-1),
		Settings: &tenant.Settings{Secured: true, DynamicRegistration: true, AccessTokenSeconds: 3600}}); err != nil {
		t.Fatal(err)
	}
	_, iat, err := env.tenants.IssueRegistrationToken(ctx, who, "care-dev", tenant.NewRegistrationToken{})
	if err != nil {
		t.Fatal(err)
	}
	return env, iat
}

// registerHubClient registers a new HelseID client with the hubs' scopes
// and a vkp-id of Steinkjer (5006) in care-dev of the gateway at root.
func registerHubClient(ctx context.Context, root, iat string) (*helseidtest.Client, error) {
	client, err := helseidtest.New(root)
	if err != nil {
		return nil, err
	}
	if err := client.Register(ctx, root+"/sandboxes/care-dev/auth/register", iat, hubScopes, "Care_Alarm_5006"); err != nil {
		return nil, err
	}
	return client, nil
}

// retrying is a supplier's client of the hubs: it sends with a DPoP-bound
// token and a fresh proof each time, keeps the last DPoP-Nonce it was
// given, and sends again after a use_dpop_nonce challenge (with the new
// nonce) and after 429 or 503 (after Retry-After).
type retrying struct {
	t      testing.TB
	e      *hubEnv
	token  string
	nonce  string
	seen   map[string]int // what was answered, by kind
	nonces []string       // the nonces of use_dpop_nonce challenges
}

func (c *retrying) do(method, u string, body []byte) (int, http.Header, []byte) {
	c.t.Helper()
	for range 12 {
		htu := u
		if i := strings.IndexByte(htu, '?'); i >= 0 {
			htu = htu[:i]
		}
		proof, err := c.e.client.Proof(method, htu, c.nonce, c.token, func(cl map[string]any) { cl["iat"] = c.e.clock.Now().Unix() })
		if err != nil {
			c.t.Fatal(err)
		}
		req, _ := http.NewRequest(method, u, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/fhir+json")
		req.Header.Set("Authorization", "DPoP "+c.token)
		req.Header.Set("DPoP", proof)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			c.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if n := resp.Header.Get("DPoP-Nonce"); n != "" {
			c.nonce = n
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`):
			if resp.Header.Get("DPoP-Nonce") == "" {
				c.t.Fatalf("use_dpop_nonce without a DPoP-Nonce: %s", b)
			}
			c.seen["use_dpop_nonce"]++
			c.nonces = append(c.nonces, resp.Header.Get("DPoP-Nonce"))
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			c.seen[strconv.Itoa(resp.StatusCode)]++
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode == http.StatusTooManyRequests && (err != nil || wait < 1) {
				c.t.Fatalf("429 without Retry-After: %q", resp.Header.Get("Retry-After"))
			}
			time.Sleep(time.Duration(wait) * time.Second)
		default:
			return resp.StatusCode, resp.Header, b
		}
	}
	c.t.Fatalf("%s %s: no answer but faults after 12 tries", method, u)
	return 0, nil, nil
}

func newRetrying(t testing.TB, e *hubEnv) *retrying {
	tok, err := e.client.Token(context.Background(), hubScopes)
	if err != nil {
		t.Fatal(err)
	}
	return &retrying{t: t, e: e, token: tok.AccessToken, nonce: e.client.Nonce(), seen: map[string]int{}}
}

// TestHubFaults_RetryingReaderEndsWithExactlyTheEventsSent: with the
// journaling service throttling, unavailable, challenging for a new DPoP
// nonce, delivering twice and serving its feed out of order — and the
// gateway rotating its nonce mid-stream — a sender that retries and a
// reader that de-duplicates and orders by time end with exactly the
// events sent, in the order sent.
func TestHubFaults_RetryingReaderEndsWithExactlyTheEventsSent(t *testing.T) {
	e := newHubEnv(t)
	c := newRetrying(t, e)
	settings := `{"throttle_every":5,"retry_after":1,"unavailable_every":7,"nonce_every":3,"duplicate_every":4,"shuffle_window":4,"shuffle_seed":7}`
	if status, _, b := c.do(http.MethodPut, e.base+"/connectors/jft/settings", []byte(settings)); status != 200 {
		t.Fatalf("settings: %d %s", status, b)
	}
	// Kept with the sandbox's settings, where a restart finds them.
	if b, err := e.tenants.ConnectorSettings(context.Background(), "care-dev", jft.ID); err != nil || !strings.Contains(string(b), `"nonce_every":3`) {
		t.Fatalf("the registry keeps %s, %v", b, err)
	}

	const events = 12
	var sent []string
	start := time.Date(2026, 3, 1, 22, 0, 0, 0, time.FixedZone("CET", 3600))
	for i := range events {
		if i == events/2 {
			// The gateway's own nonce rotates (two periods pass).
			e.clock.Advance(11 * time.Minute)
		}
		id := fmt.Sprintf("urn:uuid:4c1f6a52-0d7e-4b8a-9f3e-%012d", i)
		doc := fmt.Sprintf(`{"resourceType":"Composition","identifier":{"system":"urn:ietf:rfc:3986","value":"%s"},`+
			`"status":"final","type":{"coding":[{"system":"http://loinc.org","code":"11506-3"}]},`+
			`"subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"05873500141"}},`+
			`"date":"%s","author":[{"display":"Hjemmetjenesten"}],"title":"Hendelse %d"}`, id, start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i)
		if status, _, b := c.do(http.MethodPost, e.base+"/connectors/jft/jft/v1/Composition", []byte(doc)); status != http.StatusAccepted {
			t.Fatalf("event %d: %d %s", i, status, b)
		}
		sent = append(sent, id)
	}
	for _, kind := range []string{"use_dpop_nonce", "429", "503"} {
		if c.seen[kind] == 0 {
			t.Errorf("no %s answered; seen %v", kind, c.seen)
		}
	}
	if len(slices.Compact(slices.Clone(c.nonces))) < 2 {
		t.Errorf("nonce challenges named %v; want the rotated nonce among them", c.nonces)
	}

	// The reader pages through the feed, de-duplicates by identifier and
	// orders by the events' own times.
	type event struct{ id, date string }
	var listed []event
	next := e.base + "/connectors/jft/jft/v1/Composition?_count=5"
	for next != "" {
		status, _, b := c.do(http.MethodGet, next, nil)
		if status != 200 {
			t.Fatalf("feed: %d %s", status, b)
		}
		var page struct {
			Link  []struct{ Relation, URL string }
			Entry []struct {
				Resource struct {
					Identifier struct{ Value string }
					Date       string
				}
			}
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		for _, en := range page.Entry {
			listed = append(listed, event{en.Resource.Identifier.Value, en.Resource.Date})
		}
		next = ""
		for _, l := range page.Link {
			if l.Relation == "next" {
				next = l.URL
			}
		}
	}
	if len(listed) <= events {
		t.Errorf("%d entries listed of %d events; want the duplicates the faults deliver", len(listed), events)
	}
	var raw []string
	for _, ev := range listed {
		raw = append(raw, ev.id)
	}
	if slices.IsSortedFunc(listed, func(a, b event) int { return strings.Compare(a.date, b.date) }) {
		t.Errorf("the feed came in the order sent; want it shuffled: %v", raw)
	}
	slices.SortStableFunc(listed, func(a, b event) int { return strings.Compare(a.date, b.date) })
	var got []string
	for _, ev := range listed {
		if len(got) == 0 || got[len(got)-1] != ev.id {
			got = append(got, ev.id)
		}
	}
	if !slices.Equal(got, sent) {
		t.Errorf("the reader ends with\n%v\nwant\n%v", got, sent)
	}
}

// TestHubFaults_VKPNonceChallengeStoresNothingUntilAnswered: the hub's
// nonce fault answers a submission 401 with a DPoP challenge, the nonce
// and an OperationOutcome, and stores nothing; the resend with a new proof
// carrying the nonce is taken. A caller without a token does not reach
// the settings of a secured sandbox.
func TestHubFaults_VKPNonceChallengeStoresNothingUntilAnswered(t *testing.T) {
	e := newHubEnv(t)
	c := newRetrying(t, e)
	hub := e.base + "/connectors/vkp"
	if resp, _ := raw(t, http.MethodPut, hub+"/settings", nil, []byte(`{}`)); resp.StatusCode != 401 {
		t.Fatalf("settings without a token: %d", resp.StatusCode)
	}
	if status, _, b := c.do(http.MethodPut, hub+"/settings", []byte(`{"nonce_every":2}`)); status != 200 {
		t.Fatalf("settings: %d %s", status, b)
	}
	alarm, err := os.ReadFile(filepath.Join("..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var orgnr string
	for _, m := range fixtures.Municipalities() {
		if m.Code == "5006" {
			orgnr = m.OrgNumber
		}
	}
	submit := hub + vkp.Base + "/" + orgnr + "/Bundle"
	if status, _, b := c.do(http.MethodPost, submit, alarm); status != 200 {
		t.Fatalf("first submission: %d %s", status, b)
	}
	versions := func() int {
		h, err := e.store.History(context.Background(), "care-dev", fhirstore.HistoryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return h.Total
	}
	before := versions()
	proof, _ := e.client.Proof(http.MethodPost, submit, c.nonce, c.token, nil)
	resp, body := raw(t, http.MethodPost, submit, map[string]string{"Authorization": "DPoP " + c.token, "DPoP": proof}, alarm)
	nonce := resp.Header.Get("DPoP-Nonce")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) ||
		nonce == "" || body["resourceType"] != "OperationOutcome" {
		t.Fatalf("the second submission: %d %q nonce %q %v; want the nonce challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), nonce, body)
	}
	if versions() != before {
		t.Fatal("a challenged submission was stored")
	}
	proof, _ = e.client.Proof(http.MethodPost, submit, nonce, c.token, nil)
	if resp, body := raw(t, http.MethodPost, submit, map[string]string{"Authorization": "DPoP " + c.token, "DPoP": proof}, alarm); resp.StatusCode != 200 {
		t.Fatalf("the resend with the nonce: %d %v", resp.StatusCode, body)
	}
}

// TestVKPSimulate_DPoPClientThroughNonceChallenges: the simulator, given
// a HelseID app's client id and key, gets DPoP-bound tokens and sends a
// night of events to a secured sandbox whose hub throttles and rotates
// its nonce; every event is accepted. The same app's token is refused as
// a bearer token.
func TestVKPSimulate_DPoPClientThroughNonceChallenges(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Connectors = vkp.ID })
	ctx := context.Background()
	who := &tenant.Account{Username: "sim-dev", Role: tenant.RoleSupplier, Supplier: "sim"}
	if _, err := env.tenants.CreateSandbox(ctx, who, tenant.NewSandbox{ID: "sim-dev", Name: "Sim", SeedPatients: intPtr(-1),
		Settings: &tenant.Settings{Secured: true}}); err != nil {
		t.Fatal(err)
	}
	// The persona alone, whose municipality names the app's vkp-id.
	rs, err := fixtures.Generate(fixtures.Options{Personas: true})
	if err != nil {
		t.Fatal(err)
	}
	var muni fixtures.Municipality
	for _, r := range rs {
		if r.Type != "Patient" || r.ID != "persona-home-care" {
			continue
		}
		res, err := fhirjson.Parse(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := env.store.Update(ctx, "sim-dev", res, fhirstore.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, m := range fixtures.Municipalities() {
			if strings.Contains(string(r.Body), `"code":"`+m.Code+`"`) {
				muni = m
			}
		}
	}
	if muni.Code == "" {
		t.Fatal("persona-home-care has no municipality in its address")
	}
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "sim-1", Algorithm: "ES384", Use: "sig"}}})
	app, _, err := env.tenants.RegisterApp(ctx, who, "sim-dev", tenant.NewApp{Name: "Night sensors", Type: "confidential-asymmetric",
		JWKS: jwks, HelseID: true, DPoPBoundAccessTokens: true, Scopes: sim.DefaultScope, VKPID: "Sim_Sensors_" + muni.Code})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.Config{Target: env.srv.URL, Sandbox: "sim-dev", Persona: "persona-home-care", Events: 8, Seed: 3,
		ClientID: app.ClientID, Key: key, KeyID: "sim-1", MaxWait: time.Millisecond}

	// The hub's settings, set with the simulator's own kind of token.
	hid, err := helseidtest.New(env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	settingsApp, _, err := env.tenants.RegisterApp(ctx, who, "sim-dev", tenant.NewApp{Name: "Settings", Type: "confidential-asymmetric",
		JWKS: hid.JWKS(), HelseID: true, DPoPBoundAccessTokens: true, Scopes: "system/Patient.rs", VKPID: "Sim_Settings_" + muni.Code})
	if err != nil {
		t.Fatal(err)
	}
	hid.ClientID = settingsApp.ClientID
	tok, err := hid.Token(ctx, "system/Patient.rs")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, env.srv.URL+"/sandboxes/sim-dev/connectors/vkp/settings",
		strings.NewReader(`{"nonce_every":3,"throttle_every":4,"retry_after":1}`))
	if resp, err := hid.Do(req, tok.AccessToken); err != nil || resp.StatusCode != 200 {
		t.Fatalf("settings: %v %v", resp, err)
	}

	events, err := sim.Run(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	nonces, retries := 0, 0
	for _, ev := range events {
		if ev.Status != 200 {
			t.Errorf("%s %s: %d", ev.Kind, ev.What, ev.Status)
		}
		nonces += ev.NonceRetries
		retries += ev.Retries
	}
	if len(events) != 8 || nonces == 0 || retries == 0 {
		t.Errorf("%d events, %d nonce challenges, %d retries; want 8 with both", len(events), nonces, retries)
	}
	h, err := env.store.History(ctx, "sim-dev", fhirstore.HistoryQuery{Type: "Composition"})
	if err != nil || h.Total == 0 {
		t.Fatalf("no Composition stored: %v %v", h, err)
	}

	// Bearer mode is for apps that are not DPoP-bound: the bound token
	// sent as a bearer token is refused before anything is sent.
	bearer := cfg
	bearer.ClientID, bearer.Key, bearer.Token = "", nil, tok.AccessToken
	if _, err := sim.Run(ctx, bearer, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a DPoP-bound token as a bearer token: %v; want the patient read refused (401)", err)
	}
	both := cfg
	both.Token = "x"
	if _, err := sim.Run(ctx, both, nil); err == nil {
		t.Error("a client and a bearer token both were taken")
	}
}

// BenchmarkVKPAlarm_DPoP measures alarm submissions per second (a Bundle
// of DetectedIssue, Encounter and Composition, each alarm with its own
// identifiers) through the gateway, each with a fresh DPoP proof that the
// gateway verifies against the bound token, judged by the hub and stored.
// The clients' proof signing runs in the same process
// (BenchmarkVKPAlarm_DPoP_LoadProcess runs them in another). The garbage
// collector runs with the target `sandbox serve` sets (Config.TuneGC);
// GOGC=100 in the environment measures with Go's own.
//
//	go test -run '^$' -bench VKPAlarm_DPoP -benchtime 2s ./sandbox
func BenchmarkVKPAlarm_DPoP(b *testing.B) {
	b.Cleanup(Defaults().TuneGC(os.Getenv))
	e := newHubEnv(b)
	a, err := newAlarmSender(context.Background(), e.client, e.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	gc := e.store.(interface {
		GroupCommits() (groups, writes uint64)
	})
	groups0, writes0 := gc.GroupCommits()
	b.SetParallelism(64)
	b.ResetTimer()
	start, cpu := time.Now(), cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if status, err := a.send(n.Add(1)); err != nil || status != http.StatusOK {
				b.Errorf("status %d, %v", status, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alarms/s")
	// An alarm is one write of the store (its transaction); the store's
	// single writer commits them in groups, whose mean size this is.
	if groups, writes := gc.GroupCommits(); groups > groups0 {
		b.ReportMetric(float64(writes-writes0)/float64(groups-groups0), "writes/group")
	}
	// On a shared machine the CPU time per alarm (server, and the
	// clients' signing) says more than the wall time: 2 cores over it is
	// the rate the machine would reach alone.
	reportCPU(b, cpu)
}
