package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// hookReceiver is a rest-hook endpoint on loopback that hands each
// request's method and path to got.
func hookReceiver(t *testing.T) (*httptest.Server, chan string) {
	got := make(chan string, 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Method + " " + r.URL.Path
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func subscriptionBody(criteria, channel string) string {
	return fmt.Sprintf(`{"resourceType":"Subscription","status":"requested","reason":"vitals","criteria":%q,"channel":%s}`, criteria, channel)
}

// waitSubscription polls the Subscription through the API until it has
// status.
func (env *gatewayEnv) waitSubscription(t *testing.T, token, id, status string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body := env.fhir(t, http.MethodGet, "/Subscription/"+id, token, "")
		if resp.StatusCode == http.StatusOK && body["status"] == status {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("Subscription/%s: %d %v, want status %s", id, resp.StatusCode, body, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func expectHook(t *testing.T, got chan string, want string) {
	t.Helper()
	select {
	case g := <-got:
		if g != want {
			t.Errorf("notified %q, want %q", g, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no notification, want %q", want)
	}
}

func expectNoHook(t *testing.T, got chan string) {
	t.Helper()
	select {
	case g := <-got:
		t.Errorf("unexpected notification %q", g)
	case <-time.After(200 * time.Millisecond):
	}
}

// Through the FHIR API: a Subscription is taken up, a matching write is
// notified, a rolled-back transaction is not, and the CapabilityStatement
// names the websocket.
func TestGateway_SubscriptionRestHookThroughTheAPI(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.SubscriptionLoopback = true })
	hook, got := hookReceiver(t)
	resp, body := env.fhir(t, http.MethodPost, "/Subscription", "",
		subscriptionBody("Observation?subject=Patient/pat-a&category=vital-signs",
			fmt.Sprintf(`{"type":"rest-hook","endpoint":%q,"payload":"application/fhir+json"}`, hook.URL)))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := body["id"].(string)
	env.waitSubscription(t, "", id, "active")

	resp, body = env.fhir(t, http.MethodPost, "/Observation", "", obs("", "pat-a", "vital-signs", "8867-4", 80))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	expectHook(t, got, "PUT /Observation/"+body["id"].(string))

	// A transaction whose second entry fails writes nothing and notifies
	// nothing.
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[
		{"resource":` + obs("", "pat-a", "vital-signs", "8867-4", 81) + `,"request":{"method":"POST","url":"Observation"}},
		{"resource":{"resourceType":"Observation","status":"bogus","code":{"text":"x"}},"request":{"method":"POST","url":"Observation"}}]}`
	resp, body = env.fhir(t, http.MethodPost, "", "", bundle)
	if resp.StatusCode < 400 {
		t.Fatalf("failing transaction: %d %v", resp.StatusCode, body)
	}
	// Another patient's observation does not match either.
	env.fhir(t, http.MethodPost, "/Observation", "", obs("", "pat-b", "vital-signs", "8867-4", 60))
	expectNoHook(t, got)

	resp, body = env.fhir(t, http.MethodGet, "/metadata", "", "")
	ext, _ := body["rest"].([]any)[0].(map[string]any)["extension"].([]any)
	if resp.StatusCode != http.StatusOK || len(ext) != 1 ||
		ext[0].(map[string]any)["valueUri"] != "ws://"+strings.TrimPrefix(env.srv.URL, "http://")+"/websocket" {
		t.Errorf("CapabilityStatement websocket extension: %v", ext)
	}
}

// Without an allow-list entry, a rest-hook to an arbitrary host is
// refused with the reason on the Subscription.
func TestGateway_SubscriptionToAnUnlistedHostIsRefused(t *testing.T) {
	env := newGatewayEnv(t, false)
	resp, body := env.fhir(t, http.MethodPost, "/Subscription", "",
		subscriptionBody("Observation?category=vital-signs", `{"type":"rest-hook","endpoint":"http://127.0.0.1:1/x"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	sub := env.waitSubscription(t, "", body["id"].(string), "error")
	if msg, _ := sub["error"].(string); !strings.Contains(msg, "loopback") {
		t.Errorf("error %q", msg)
	}
}

// A patient-level token cannot make a Subscription (it lies outside the
// patient's compartment); a token confined by SMART v2 scope constraints
// makes one that is matched under them: what the token could not read is
// never notified.
func TestGateway_ConfinedTokenSubscriptionSeesOnlyWhatTheTokenCould(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.SubscriptionLoopback = true; c.Secure = true })
	hook, got := hookReceiver(t)
	channel := fmt.Sprintf(`{"type":"rest-hook","endpoint":%q,"payload":"application/fhir+json"}`, hook.URL)

	pat, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.cruds")
	resp, body := env.fhir(t, http.MethodPost, "/Subscription", pat.AccessToken,
		subscriptionBody("Observation?subject=Patient/pat-a", channel))
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("patient-level create: %d %v, want 403", resp.StatusCode, body)
	}

	user, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "openid", "fhirUser",
		"user/Observation.rs?category=laboratory", "user/Subscription.cruds")
	resp, body = env.fhir(t, http.MethodPost, "/Subscription", user.AccessToken,
		subscriptionBody("Observation?subject=Patient/pat-a", channel))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := body["id"].(string)
	backend := env.backendToken(t, DemoBackendClientID, "system/*.cruds")
	env.waitSubscription(t, backend, id, "active")
	env.fhir(t, http.MethodPost, "/Observation", backend, obs("", "pat-a", "vital-signs", "8867-4", 60))
	resp, body = env.fhir(t, http.MethodPost, "/Observation", backend, obs("", "pat-a", "laboratory", "4548-4", 6))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	expectHook(t, got, "PUT /Observation/"+body["id"].(string))
	expectNoHook(t, got)
}

func TestGateway_SubscriptionWebsocketNeedsATokenOfTheSandbox(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Secure = true })
	backend := env.backendToken(t, DemoBackendClientID, "system/*.cruds")
	resp, body := env.fhir(t, http.MethodPost, "/Subscription", backend,
		subscriptionBody("Observation?category=vital-signs", `{"type":"websocket"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := body["id"].(string)
	env.waitSubscription(t, backend, id, "active")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws := "ws://" + strings.TrimPrefix(env.srv.URL, "http://") + "/websocket"
	c, _, err := websocket.Dial(ctx, ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	say := func(msg string) string {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	other := env.backendToken(t, otherBackendID, "system/*.cruds")
	for _, step := range []struct{ send, want string }{
		{"bind " + id, "error authenticate first"},
		{"bind-with-token " + other, "error the token is not valid"},
		{"bind-with-token not-a-token", "error the token is not valid"},
		{"bind-with-token " + backend, "authenticated"},
		{"bind " + id, "bound " + id},
	} {
		if got := say(step.send); !strings.HasPrefix(got, step.want) {
			t.Errorf("%q: %q, want %q", step.send[:min(len(step.send), 20)], got, step.want)
		}
	}
	env.fhir(t, http.MethodPost, "/Observation", backend, obs("", "pat-a", "vital-signs", "8867-4", 61))
	_, b, err := c.Read(ctx)
	if err != nil || string(b) != "ping "+id {
		t.Errorf("got %q %v, want ping %s", b, err, id)
	}
	// The other sandbox's websocket does not know this subscription.
	c2, _, err := websocket.Dial(ctx, "ws://"+strings.TrimPrefix(env.srv.URL, "http://")+"/sandboxes/"+otherSandbox+"/websocket",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + other}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.CloseNow()
	if err := c2.Write(ctx, websocket.MessageText, []byte("bind "+id)); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c2.Read(ctx); err != nil || !strings.HasPrefix(string(b), "error no Subscription") {
		t.Errorf("bind across sandboxes: %q %v", b, err)
	}
}

// A Subscription written in a transaction Bundle is confined as one
// written alone.
func TestGateway_SubscriptionInABundleIsConfinedAsAlone(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.SubscriptionLoopback = true; c.Secure = true })
	hook, got := hookReceiver(t)
	user, _ := env.standaloneLaunch(t, "Practitioner/prac-1", "pat-a", "openid", "fhirUser",
		"user/Observation.rs?category=laboratory", "user/Subscription.cruds")
	sub := subscriptionBody("Observation?subject=Patient/pat-a",
		fmt.Sprintf(`{"type":"rest-hook","endpoint":%q,"payload":"application/fhir+json"}`, hook.URL))
	bundle := `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + sub + `,"request":{"method":"POST","url":"Subscription"}}]}`
	resp, body := env.fhir(t, http.MethodPost, "", user.AccessToken, bundle)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("transaction: %d %v", resp.StatusCode, body)
	}
	loc := body["entry"].([]any)[0].(map[string]any)["response"].(map[string]any)["location"].(string)
	id := strings.Split(strings.TrimPrefix(loc, "Subscription/"), "/")[0]
	backend := env.backendToken(t, DemoBackendClientID, "system/*.cruds")
	env.waitSubscription(t, backend, id, "active")
	env.fhir(t, http.MethodPost, "/Observation", backend, obs("", "pat-a", "vital-signs", "8867-4", 60))
	resp, body = env.fhir(t, http.MethodPost, "/Observation", backend, obs("", "pat-a", "laboratory", "4548-4", 6))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	expectHook(t, got, "PUT /Observation/"+body["id"].(string))
	expectNoHook(t, got)
}
