package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"hpsandbox/connectors/helseid/helseidtest"
)

// boundToken is a client_credentials token of the demo backend bound (RFC
// 9449) to holder's DPoP key.
func (env *gatewayEnv) boundToken(t *testing.T, holder *helseidtest.Client, scope string) string {
	t.Helper()
	proof, err := holder.Proof(http.MethodPost, env.srv.URL+"/auth/token", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {env.assertion(t, DemoBackendClientID)}}
	req, _ := http.NewRequest(http.MethodPost, env.srv.URL+"/auth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.TokenType != "DPoP" {
		t.Fatalf("bound token: %d %+v %v", resp.StatusCode, body, err)
	}
	return body.AccessToken
}

// A DPoP-bound token binds a websocket only with the upgrade request's
// proof of its key: htm GET, htu the websocket's public URL, ath of the
// token, the server's nonce. Without one, with another key's, for another
// URL, without the nonce or replayed, the socket says why and binds
// nothing; a bearer token binds as before.
func TestGateway_WebsocketBoundTokenNeedsADPoPProof(t *testing.T) {
	env := newGatewayEnvWith(t, func(c *Config, _ *parts) { c.Secure = true })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bearer := env.backendToken(t, DemoBackendClientID, "system/*.cruds")
	resp, body := env.fhir(t, http.MethodPost, "/Subscription", bearer,
		subscriptionBody("Observation?category=vital-signs", `{"type":"websocket"}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, body)
	}
	id := body["id"].(string)
	env.waitSubscription(t, bearer, id, "active")

	holder, err := helseidtest.New(env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	thief, err := helseidtest.New(env.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	bound := env.boundToken(t, holder, "system/*.rs")
	ws := "ws://" + strings.TrimPrefix(env.srv.URL, "http://") + "/websocket"
	nonce, err := env.authz.DPoPNonce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	proof := func(c *helseidtest.Client, htu, nonce, token string) string {
		p, err := c.Proof(http.MethodGet, htu, nonce, token, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	dial := func(h http.Header) (*websocket.Conn, *http.Response) {
		c, resp, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: h})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c, resp
	}
	say := func(c *websocket.Conn, msg string) string {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	replayed := proof(holder, ws, nonce, bound)

	for _, tt := range []struct {
		name, token string
		dpop        string // the upgrade's DPoP header; "" for none
		want        string
	}{
		{"BoundWithProof", bound, replayed, "authenticated"},
		{"BoundWithoutProof", bound, "", "error the token is DPoP-bound: the websocket upgrade request must carry a DPoP proof"},
		{"ProofOfAnotherKey", bound, proof(thief, ws, nonce, bound), "error the token is DPoP-bound: the DPoP proof is not signed with the key the access token is bound to"},
		{"ProofForAnotherURL", bound, proof(holder, env.srv.URL+"/fhir", nonce, bound), "error the token is DPoP-bound: the DPoP proof's htu"},
		{"ProofOfAnotherToken", bound, proof(holder, ws, nonce, bearer), "error the token is DPoP-bound: the DPoP proof's ath"},
		{"ProofWithoutNonce", bound, proof(holder, ws, "", bound), "error the token is DPoP-bound: the DPoP proof must carry the server's nonce"},
		{"ReplayedProof", bound, replayed, "error the token is DPoP-bound: the DPoP proof's jti was already used"},
		{"BearerToken", bearer, "", "authenticated"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.dpop != "" {
				h.Set("DPoP", tt.dpop)
			}
			c, resp := dial(h)
			if resp.Header.Get("DPoP-Nonce") == "" {
				t.Error("the upgrade answered no DPoP-Nonce")
			}
			if got := say(c, "bind-with-token "+tt.token); !strings.HasPrefix(got, tt.want) {
				t.Fatalf("bind-with-token: %q, want %q…", got, tt.want)
			}
			bindWant := "bound " + id
			if tt.want != "authenticated" {
				bindWant = "error authenticate first"
			}
			if got := say(c, "bind "+id); !strings.HasPrefix(got, bindWant) {
				t.Errorf("bind: %q, want %q…", got, bindWant)
			}
			if tt.name == "BoundWithProof" {
				env.fhir(t, http.MethodPost, "/Observation", bearer, obs("", "pat-a", "vital-signs", "8867-4", 61))
				if _, b, err := c.Read(ctx); err != nil || string(b) != "ping "+id {
					t.Errorf("got %q %v, want ping %s", b, err, id)
				}
			}
		})
	}

	// On the upgrade itself: Authorization: DPoP with its proof.
	c, _ := dial(http.Header{"Authorization": {"DPoP " + bound}, "DPoP": {proof(holder, ws, nonce, bound)}})
	if got := say(c, "bind "+id); got != "bound "+id {
		t.Errorf("bound token on the upgrade: %q", got)
	}
	if _, resp, err := websocket.Dial(ctx, ws, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"DPoP " + bound}}}); err == nil ||
		resp == nil || resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_dpop_proof") {
		t.Errorf("bound token on the upgrade without a proof: %v %v, want 401 invalid_dpop_proof", err, resp)
	}
}
