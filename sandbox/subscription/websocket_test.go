package subscription

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func dialHub(t *testing.T, e *env, sandbox string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hub.Serve(w, r, sandbox)
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{HTTPHeader: header})
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func say(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if msg != "" {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWebsocket_BindWithTokenThenPing(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fastConfig())
	id := e.subscribe(ctx, "a", "Observation?category=vital-signs", map[string]any{"type": "websocket"})
	other := e.subscribe(ctx, "b", "Observation?category=vital-signs", map[string]any{"type": "websocket"})
	e.waitStatus("a", id, StatusActive)
	hook := e.subscribe(ctx, "a", "Observation?category=vital-signs", hookChannel("http://127.0.0.1:9/", nil))

	c, _, err := dialHub(t, e, "a", nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ send, want string }{
		{"bind " + id, "error authenticate first"},                  // no credentials
		{"bind-with-token token-b", "error the token is not valid"}, // another sandbox's token
		{"bind-with-token token-a", "authenticated"},
		{"bind " + other, "error no Subscription/" + other}, // another sandbox's subscription
		{"bind " + hook, "error Subscription/" + hook + " is not a websocket"},
		{"bind ../x", "error bind needs a subscription id"},
		{"hello", "error unknown message"},
		{"bind " + id, "bound " + id},
	}
	for _, s := range steps {
		if got := say(t, c, s.send); !strings.HasPrefix(got, s.want) {
			t.Errorf("%q answered %q, want %q…", s.send, got, s.want)
		}
	}
	e.observation(ctx, "b", "", "p1", "vital-signs", 1) // another sandbox: no ping
	e.observation(ctx, "a", "", "p1", "laboratory", 1)  // no match: no ping
	e.observation(ctx, "a", "", "p1", "vital-signs", 1)
	if got := say(t, c, ""); got != "ping "+id {
		t.Errorf("got %q, want ping %s", got, id)
	}
}

func TestWebsocket_AuthorizationHeader(t *testing.T) {
	e := newEnv(t, fastConfig())
	if _, resp, err := dialHub(t, e, "a", http.Header{"Authorization": {"Bearer token-b"}}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another sandbox's token: %v %v, want 401", err, resp)
	}
	id := e.subscribe(context.Background(), "a", "Observation?category=vital-signs", map[string]any{"type": "websocket"})
	c, _, err := dialHub(t, e, "a", http.Header{"Authorization": {"Bearer token-a"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := say(t, c, "bind "+id); got != "bound "+id {
		t.Errorf("got %q", got)
	}
}

// A DPoP-bound token binds only with the upgrade request's proof, which
// Authenticate receives with the websocket's URL; a refusal tells its
// reason on the socket and binds nothing.
func TestWebsocket_BoundTokenNeedsTheUpgradesProof(t *testing.T) {
	e := newEnv(t, fastConfig())
	id := e.subscribe(context.Background(), "a", "Observation?category=vital-signs", map[string]any{"type": "websocket"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.hub.Serve(w, r, "a") }))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	dial := func(h http.Header) (*websocket.Conn, *http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
		if c != nil {
			t.Cleanup(func() { c.CloseNow() })
		}
		return c, resp, err
	}
	for _, tt := range []struct {
		name   string
		header http.Header
		steps  [][2]string
	}{
		{"WithProof", http.Header{"DPoP": {"proof@" + url}}, [][2]string{{"bind-with-token bound-a", "authenticated"}, {"bind " + id, "bound " + id}}},
		{"WithoutProof", nil, [][2]string{{"bind-with-token bound-a", "error the token is DPoP-bound: the upgrade request carried no DPoP proof"},
			{"bind " + id, "error authenticate first"}}},
		{"ProofForAnotherURL", http.Header{"DPoP": {"proof@ws://elsewhere/"}}, [][2]string{{"bind-with-token bound-a", "error the token is DPoP-bound: the DPoP proof is not for " + url},
			{"bind " + id, "error authenticate first"}}},
		{"BearerTokenIgnoresProof", http.Header{"DPoP": {"junk"}}, [][2]string{{"bind-with-token token-a", "authenticated"}, {"bind " + id, "bound " + id}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := dial(tt.header)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.steps {
				if got := say(t, c, s[0]); !strings.HasPrefix(got, s[1]) {
					t.Errorf("%q answered %q, want %q", s[0], got, s[1])
				}
			}
		})
	}
	t.Run("AuthorizationDPoPOnTheUpgrade", func(t *testing.T) {
		if _, resp, err := dial(http.Header{"Authorization": {"DPoP bound-a"}}); err == nil || resp == nil ||
			resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_dpop_proof") {
			t.Fatalf("bound token without proof on the upgrade: %v %v, want 401 invalid_dpop_proof", err, resp)
		}
		c, _, err := dial(http.Header{"Authorization": {"DPoP bound-a"}, "DPoP": {"proof@" + url}})
		if err != nil {
			t.Fatal(err)
		}
		if got := say(t, c, "bind "+id); got != "bound "+id {
			t.Errorf("got %q", got)
		}
	})
}

func TestWebsocket_CloseEndsConnections(t *testing.T) {
	e := newEnv(t, fastConfig())
	c, _, err := dialHub(t, e, "a", http.Header{"Authorization": {"Bearer token-a"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.hub.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("read after Close: %v (ctx %v), want the connection ended", err, ctx.Err())
	}
	if _, resp, err := dialHub(t, e, "a", nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v, want 503", err)
	}
}
