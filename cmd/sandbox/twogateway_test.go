package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/oauth2"

	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox"
	"hpsandbox/smart/redisstate/redistest"
)

// gatewayHeader names the gateway a request through the test's proxy goes
// to ("0" or "1"); without it the proxy takes turns.
const gatewayHeader = "X-Test-Gateway"

// operatorPassword is the operator's password in the two-gateway tests.
const operatorPassword = "operator-password-for-two-gateways"

// pair is two `sandbox serve` processes sharing one PostgreSQL and one
// Redis, behind a reverse proxy whose URL is their public URL.
type pair struct {
	proxy *httptest.Server
	addrs []string
	// served counts the requests each gateway got through the proxy.
	served [2]atomic.Int64
	// env and dir start a gateway like these (its data directory
	// dir/dataN); kill ends gateway i at once, as a crash does.
	env  []string
	dir  string
	kill [2]func()
}

// startPair starts the proxy, then the two gateways one after the other
// (the first seeds the empty store), each with its own data directory.
func startPair(t testing.TB) *pair { return startPairWith(t, false) }

// startPairWith is startPair; with atOnce the gateways start side by side
// on an empty database and seed nothing.
func startPairWith(t testing.TB, atOnce bool) *pair {
	t.Helper()
	redisURL := redistest.Start(t)
	dsn := testpg.Start(t)
	p := &pair{}
	var backends [2]*httputil.ReverseProxy
	var turn atomic.Int64
	p.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(turn.Add(1) % 2)
		switch r.Header.Get(gatewayHeader) {
		case "0":
			i = 0
		case "1":
			i = 1
		}
		p.served[i].Add(1)
		backends[i].ServeHTTP(w, r)
	}))
	t.Cleanup(p.proxy.Close)
	dir := t.TempDir()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := []string{
		"HPS_STORE=" + dsn, "HPS_REDIS_URL=" + redisURL, "HPS_PUBLIC_URL=" + p.proxy.URL,
		"HPS_SIGNING_KEY_FILE=" + filepath.Join(dir, "signing-key.pem"),
		"HPS_PORTAL_SESSION_KEY=" + base64.StdEncoding.EncodeToString(key),
		"HPS_OPERATOR_PASSWORD=" + operatorPassword, "HPS_SEED_PATIENTS=2",
		"HPS_SMART_SKIP_LOGIN=true", "HPS_SMART_SKIP_CONSENT=true", "HPS_SUBSCRIPTION_LOOPBACK=true",
		"HPS_REQUEST_LOG_MAX=0", "HPS_LOG_LEVEL=info",
		// A dead gateway's subscriptions are taken over after 5 s, not 15.
		"HPS_SUBSCRIPTION_TAKEOVER=5s",
	}
	if atOnce {
		env = append(env, "HPS_SEED_PATIENTS=-1")
	}
	p.env, p.dir = env, dir
	p.addrs = make([]string, len(backends))
	var wg sync.WaitGroup
	for i := range backends {
		start := func() {
			p.addrs[i], p.kill[i] = startGatewayProcess(t, slices.Concat(env, []string{"HPS_DATA=" + filepath.Join(dir, fmt.Sprintf("data%d", i))}))
		}
		if !atOnce {
			start()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); start() }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i, addr := range p.addrs {
		u, _ := url.Parse("http://" + addr)
		backends[i] = httputil.NewSingleHostReverseProxy(u)
	}
	return p
}

// startGateway runs `sandbox serve` in a child process with env and returns
// its address once it serves; the process is stopped (SIGTERM) when t ends.
func startGateway(t testing.TB, env []string) string {
	t.Helper()
	addr, _ := startGatewayProcess(t, env)
	return addr
}

// startGatewayProcess is startGateway, and returns what kills the process
// (SIGKILL) and waits for its end.
func startGatewayProcess(t testing.TB, env []string) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = slices.Concat(os.Environ(), env, []string{`SANDBOX_MAIN_ARGS=["serve","--addr","127.0.0.1:0"]`})
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Error(err)
		return "", func() {}
	}
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return "", func() {}
	}
	var logMu sync.Mutex
	var logs strings.Builder
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			logs.WriteString(line + "\n")
			logMu.Unlock()
			var entry struct {
				Msg      string `json:"msg"`
				FHIRBase string `json:"fhir_base"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "serving" {
				ready <- strings.TrimSuffix(strings.TrimPrefix(entry.FHIRBase, "http://"), "/fhir")
			}
		}
	}()
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	kill := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			kill()
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("gateway log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	select {
	case addr := <-ready:
		return addr, kill
	case <-exited:
		logMu.Lock()
		defer logMu.Unlock()
		t.Errorf("sandbox serve ended: %v\n%s", waitErr, logs.String())
	case <-time.After(3 * time.Minute):
		t.Error("sandbox serve did not start")
	}
	return "", kill
}

// client sends requests through the proxy to one gateway; it follows no
// redirects and keeps cookies.
type client struct {
	t    *testing.T
	p    *pair
	http *http.Client
}

func newClient(t *testing.T, p *pair) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, p: p, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request to gateway gw and returns the response with its body
// read.
func (c *client) do(gw int, method, path string, header http.Header, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.p.proxy.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set(gatewayHeader, fmt.Sprint(gw))
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/fhir+json"}}
}

var fhirJSON = http.Header{"Content-Type": {"application/fhir+json"}}

var form = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

// TestTwoGateways_ShareEverythingAClientCanTell is the proof that gateways
// are stateless: two `sandbox serve` processes share one PostgreSQL and one
// Redis, and what a client does through one holds at the other.
func TestTwoGateways_ShareEverythingAClientCanTell(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	p := startPair(t)
	c := newClient(t, p)
	fhirBase := p.proxy.URL + "/fhir"

	// A patient of the seed, for the launch.
	resp, body := c.do(1, http.MethodGet, "/fhir/Patient?_count=1&_elements=id", nil, "")
	m := regexp.MustCompile(`"fullUrl":"[^"]*/Patient/([^"]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("a seeded patient: %d %s", resp.StatusCode, body)
	}
	patient := m[1]

	t.Run("a code minted by one gateway is redeemed at the other", func(t *testing.T) {
		c.t = t
		token, redeem := authorize(t, c, fhirBase, patient)
		// The token verifies at both: one signing key.
		for gw := range 2 {
			if resp, body := c.do(gw, http.MethodGet, "/fhir/Patient/"+patient, bearer(token), ""); resp.StatusCode != http.StatusOK {
				t.Errorf("gateway %d refuses the token: %d %s", gw, resp.StatusCode, body)
			}
		}
		// A code is used once, whichever gateway sees it again, and its
		// replay revokes what it gave (RFC 6749 §4.1.2) at both.
		if resp, body := redeem(1); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_grant") {
			t.Errorf("the code again at gateway 1: %d %s, want invalid_grant", resp.StatusCode, body)
		}
		for gw := range 2 {
			if resp, body := c.do(gw, http.MethodGet, "/fhir/Patient/"+patient, bearer(token), ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("gateway %d after the code's replay: %d %s, want 401", gw, resp.StatusCode, body)
			}
		}
	})

	t.Run("a token issued by one gateway is revoked at the other", func(t *testing.T) {
		c.t = t
		token, _ := authorize(t, c, fhirBase, patient)
		resp, body := c.do(1, http.MethodPost, "/auth/revoke", form,
			url.Values{"token": {token}, "client_id": {sandbox.DemoClientID}}.Encode())
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("revoke at gateway 1: %d %s", resp.StatusCode, body)
		}
		for gw := range 2 {
			if resp, body := c.do(gw, http.MethodGet, "/fhir/Patient/"+patient, bearer(token), ""); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("gateway %d after the revocation: %d %s, want 401", gw, resp.StatusCode, body)
			}
		}
	})

	written := ""
	t.Run("a write on one gateway is read on the other", func(t *testing.T) {
		c.t = t
		resp, body := c.do(0, http.MethodPost, "/fhir/Patient", fhirJSON,
			`{"resourceType":"Patient","name":[{"family":"Tognesen","given":["Ada"]}],"gender":"female"}`)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusCreated || loc == "" {
			t.Fatalf("create at gateway 0: %d %s", resp.StatusCode, body)
		}
		written = strings.Split(strings.TrimPrefix(loc, fhirBase+"/"), "/_history")[0]
		if resp, body := c.do(1, http.MethodGet, "/fhir/"+written, nil, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Tognesen") {
			t.Errorf("read at gateway 1: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("a portal session started at one gateway is valid at the other", func(t *testing.T) {
		c.t = t
		resp, body := c.do(0, http.MethodGet, "/portal/login", nil, "")
		csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
		if resp.StatusCode != http.StatusOK || csrf == nil {
			t.Fatalf("sign-in page: %d", resp.StatusCode)
		}
		resp, body = c.do(0, http.MethodPost, "/portal/login", form, url.Values{"csrf": {csrf[1]},
			"username": {sandbox.OperatorUsername}, "password": {operatorPassword}, "next": {"/portal/"}}.Encode())
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in at gateway 0: %d %s", resp.StatusCode, body)
		}
		for gw := range 2 {
			if resp, _ := c.do(gw, http.MethodGet, "/portal/", nil, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("dashboard at gateway %d: %d (%s), want 200 with the session", gw, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	})

	t.Run("a settings change at one gateway applies at the other at once", func(t *testing.T) {
		c.t = t
		for _, step := range []struct {
			at, seenAt int
			secured    bool
			want       int
		}{{0, 1, true, http.StatusUnauthorized}, {1, 0, false, http.StatusOK}} {
			// The gateway that is to see the change remembers the settings
			// (for 2 s) from this read on.
			c.do(step.seenAt, http.MethodGet, "/fhir/Patient/"+patient, nil, "")
			resp, body := c.do(step.at, http.MethodPatch, "/admin/api/sandboxes/default", operator(),
				fmt.Sprintf(`{"settings":{"secured":%t}}`, step.secured))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("settings at gateway %d: %d %s", step.at, resp.StatusCode, body)
			}
			deadline := time.Now().Add(time.Second)
			for {
				resp, body = c.do(step.seenAt, http.MethodGet, "/fhir/Patient/"+patient, nil, "")
				if resp.StatusCode == step.want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("gateway %d a second after secured=%t at gateway %d: %d %s, want %d", step.seenAt, step.secured, step.at, resp.StatusCode, body, step.want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})

	t.Run("a subscription notification reaches the websocket held by the other gateway", func(t *testing.T) {
		c.t = t
		resp, body := c.do(0, http.MethodPost, "/fhir/Subscription", fhirJSON,
			`{"resourceType":"Subscription","status":"requested","reason":"two gateways","criteria":"Patient?family=Websocketsen","channel":{"type":"websocket"}}`)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("subscription at gateway 0: %d %s", resp.StatusCode, body)
		}
		var sub struct{ ID string }
		_ = json.Unmarshal([]byte(body), &sub)
		waitStatus(t, c, sub.ID, "active")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws://"+p.addrs[1]+"/websocket", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		if err := ws.Write(ctx, websocket.MessageText, []byte("bind "+sub.ID)); err != nil {
			t.Fatal(err)
		}
		if _, msg, err := ws.Read(ctx); err != nil || string(msg) != "bound "+sub.ID {
			t.Fatalf("bind at gateway 1: %q %v", msg, err)
		}
		// Written through either gateway, the match reaches gateway 1's
		// socket once.
		for gw := range 2 {
			resp, body = c.do(gw, http.MethodPost, "/fhir/Patient", fhirJSON,
				`{"resourceType":"Patient","name":[{"family":"Websocketsen"}]}`)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("write at gateway %d: %d %s", gw, resp.StatusCode, body)
			}
			_, msg, err := ws.Read(ctx)
			if err != nil || string(msg) != "ping "+sub.ID {
				t.Fatalf("after a write at gateway %d: %q %v, want ping %s", gw, msg, err, sub.ID)
			}
		}
		quiet, stop := context.WithTimeout(ctx, 500*time.Millisecond)
		defer stop()
		if _, msg, err := ws.Read(quiet); err == nil {
			t.Errorf("a second notification of one write: %q", msg)
		}
	})

	t.Run("a rest-hook is notified once of a write through either gateway", func(t *testing.T) {
		c.t = t
		_, got := restHookSubscription(t, c, 1, "Hooksen", "two gateways")
		for gw := range 2 {
			resp, body := c.do(gw, http.MethodPost, "/fhir/Patient", fhirJSON, `{"resourceType":"Patient","name":[{"family":"Hooksen"}]}`)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("write at gateway %d: %d %s", gw, resp.StatusCode, body)
			}
			id := strings.Split(strings.TrimPrefix(resp.Header.Get("Location"), fhirBase+"/"), "/_history")[0]
			select {
			case g := <-got:
				if g != "PUT /"+id {
					t.Errorf("after a write at gateway %d: %q, want PUT /%s", gw, g, id)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no notification of the write at gateway %d", gw)
			}
		}
		select {
		case g := <-got:
			t.Errorf("a second delivery: %q", g)
		case <-time.After(500 * time.Millisecond):
		}
	})

	t.Run("an export kicked off at one gateway is polled and downloaded at the other", func(t *testing.T) {
		c.t = t
		exportAcrossGateways(t, c, fhirBase)
	})

	t.Run("a reset through one gateway is seen by the other", func(t *testing.T) {
		c.t = t
		if written == "" {
			t.Skip("the write step failed")
		}
		resp, body := c.do(0, http.MethodPost, "/admin/api/sandboxes/default/reset", operator(), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reset at gateway 0: %d %s", resp.StatusCode, body)
		}
		if resp, body := c.do(1, http.MethodGet, "/fhir/"+written, nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("gateway 1 after the reset: %d %s, want 404", resp.StatusCode, body)
		}
		if resp, body := c.do(1, http.MethodGet, "/fhir/Patient/"+patient, nil, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("gateway 1 lost the seed in the reset: %d %s", resp.StatusCode, body)
		}
	})

	if p.served[0].Load() == 0 || p.served[1].Load() == 0 {
		t.Errorf("the proxy sent %d and %d requests: both gateways must serve", p.served[0].Load(), p.served[1].Load())
	}
}

// operator is the header of the admin API's operator credentials.
func operator() http.Header {
	req, _ := http.NewRequest("", "", nil)
	req.SetBasicAuth(sandbox.OperatorUsername, operatorPassword)
	return http.Header{"Authorization": req.Header["Authorization"], "Content-Type": {"application/json"}}
}

// Two gateways starting at the same moment on one empty database both
// serve, and the operator account is made once.
func TestTwoGateways_StartingAtOnceMakeOneOperator(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	p := startPairWith(t, true)
	c := newClient(t, p)
	for gw := range 2 {
		resp, body := c.do(gw, http.MethodGet, "/admin/api/accounts", operator(), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("accounts at gateway %d: %d %s", gw, resp.StatusCode, body)
		}
		if n := strings.Count(body, `"role":"operator"`); n != 1 {
			t.Errorf("gateway %d lists %d operators, want 1: %s", gw, n, body)
		}
	}
}

// authorize runs a SMART authorization of the demo app: the authorize
// request at gateway 0, the patient picker at gateway 1, the code
// redeemed at gateway 0 again. It returns the access token and what
// redeems the code again at a gateway.
func authorize(t *testing.T, c *client, fhirBase, patient string) (string, func(gw int) (*http.Response, string)) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {sandbox.DemoClientID}, "redirect_uri": {"http://127.0.0.1/callback"},
		"scope": {"launch/patient patient/*.rs"}, "state": {"s1"}, "aud": {fhirBase},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	resp, body := c.do(0, http.MethodGet, "/auth/authorize?"+q.Encode(), nil, "")
	next, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode/100 != 3 || err != nil || next.Path != "/auth/select-patient" {
		t.Fatalf("authorize at gateway 0: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, body = c.do(1, http.MethodPost, next.Path, form,
		url.Values{"session": {next.Query().Get("session")}, "patient": {patient}}.Encode())
	next, err = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode/100 != 3 || err != nil || next.Query().Get("code") == "" {
		t.Fatalf("patient picker at gateway 1: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	redeem := func(gw int) (*http.Response, string) {
		return c.do(gw, http.MethodPost, "/auth/token", form, url.Values{"grant_type": {"authorization_code"},
			"code": {next.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1/callback"},
			"client_id": {sandbox.DemoClientID}, "code_verifier": {verifier}}.Encode())
	}
	resp, body = redeem(0)
	var tok struct {
		AccessToken string `json:"access_token"`
		Patient     string `json:"patient"`
	}
	if err := json.Unmarshal([]byte(body), &tok); resp.StatusCode != http.StatusOK || err != nil || tok.AccessToken == "" || tok.Patient != patient {
		t.Fatalf("code at gateway 0: %d %s", resp.StatusCode, body)
	}
	return tok.AccessToken, redeem
}

// waitStatus polls Subscription/id through either gateway until it has
// status.
func waitStatus(t *testing.T, c *client, id, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		resp, body := c.do(i%2, http.MethodGet, "/fhir/Subscription/"+id, nil, "")
		if resp.StatusCode == http.StatusOK && strings.Contains(body, `"status":"`+status+`"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Subscription/%s: %d %s, want status %s", id, resp.StatusCode, body, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restHookSubscription writes through gateway gw a rest-hook Subscription
// to Patients of family, with a receiver on loopback that passes on each
// notification's method and path, and waits until it is active. It
// returns the Subscription's id and the notifications.
func restHookSubscription(t *testing.T, c *client, gw int, family, reason string) (string, <-chan string) {
	t.Helper()
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Method + " " + r.URL.Path
	}))
	t.Cleanup(hook.Close)
	resp, body := c.do(gw, http.MethodPost, "/fhir/Subscription", fhirJSON, fmt.Sprintf(
		`{"resourceType":"Subscription","status":"requested","reason":%q,"criteria":"Patient?family=%s","channel":{"type":"rest-hook","endpoint":%q,"payload":"application/fhir+json"}}`,
		reason, family, hook.URL))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscription at gateway %d: %d %s", gw, resp.StatusCode, body)
	}
	var sub struct{ ID string }
	_ = json.Unmarshal([]byte(body), &sub)
	waitStatus(t, c, sub.ID, "active")
	return sub.ID, got
}
