package subscription

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
)

// HubConfig configures a Hub.
type HubConfig struct {
	// Store is where bind looks the subscription up.
	Store fhirstore.Reader
	// Authenticate checks an access token presented for sandbox: nil when
	// it is valid, was issued for that sandbox and, when it is DPoP-bound,
	// proof proves the client holds its key (RFC 9449 §7: a proof for GET
	// at the websocket's URL, hashing the token). A refusal of a bound
	// token for want of a valid proof is a *DPoPError, whose reason the
	// client is told.
	Authenticate func(ctx context.Context, sandbox, token string, proof Proof) error
	// URL is the websocket's public URL for sandbox (ws:// or wss://), the
	// htu a DPoP proof of the upgrade request names; when nil it is the
	// request's own host and path.
	URL func(sandbox string) string
	// Nonce, when set, is the server's current DPoP nonce, answered on the
	// upgrade in the DPoP-Nonce header for the client's next proof.
	Nonce func(ctx context.Context) (string, error)
	// Secured reports whether sandbox needs a token; every sandbox does
	// when nil.
	Secured func(ctx context.Context, sandbox string) bool
}

// Proof is what the upgrade request offered to prove a DPoP-bound token:
// the DPoP headers it carried (RFC 9449 §4.1; one is valid) and the URL
// the proofs must name. The token itself may come later, with
// bind-with-token, whose proof's ath hashes it.
type Proof struct {
	DPoP []string
	URL  string
}

// DPoPError refuses a DPoP-bound token whose proof is missing or wrong.
type DPoPError struct {
	// Reason says what is wrong, in words the client is told.
	Reason string
}

func (e *DPoPError) Error() string { return "the token is DPoP-bound: " + e.Reason }

// refusal is what the socket tells a client whose token was refused: a
// DPoP refusal's reason, else no more than that the token is not valid.
func refusal(err error) string {
	var d *DPoPError
	if errors.As(err, &d) {
		return "error " + d.Error()
	}
	return "error the token is not valid for this sandbox"
}

// proofOf is the DPoP evidence of the upgrade request r.
func (h *Hub) proofOf(r *http.Request, sandbox string) Proof {
	p := Proof{DPoP: r.Header.Values("DPoP")}
	if h.cfg.URL != nil {
		p.URL = h.cfg.URL(sandbox)
		return p
	}
	scheme := "ws://"
	if r.TLS != nil {
		scheme = "wss://"
	}
	p.URL = scheme + r.Host + r.URL.EscapedPath()
	return p
}

// Limits of a websocket connection.
const (
	wsMaxMessage  = 8 << 10
	wsMaxBindings = 32
	wsSendQueue   = 64
	wsWriteWait   = 10 * time.Second
)

// Hub serves the R4 websocket channel: connections bind to subscriptions
// and receive `ping <id>` on their matches. It is the Notifier of the
// websocket channel.
type Hub struct {
	cfg   HubConfig
	mu    sync.Mutex
	bound map[subKey]map[*wsConn]struct{}
	// open are the connections served, each with what ends it; closed is
	// set by Close.
	open   map[*wsConn]context.CancelFunc
	closed bool
	wg     sync.WaitGroup
}

type subKey struct {
	sandbox fhirstore.Sandbox
	id      string
}

type wsConn struct {
	send chan string
}

// NewHub returns a Hub.
func NewHub(cfg HubConfig) *Hub {
	if cfg.Secured == nil {
		cfg.Secured = func(context.Context, string) bool { return true }
	}
	return &Hub{cfg: cfg, bound: map[subKey]map[*wsConn]struct{}{}, open: map[*wsConn]context.CancelFunc{}}
}

// Close ends every connection and waits for their handlers; later
// upgrades are refused.
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	for _, cancel := range h.open {
		cancel()
	}
	h.mu.Unlock()
	h.wg.Wait()
	return nil
}

// Notify implements Notifier: it pings the connections bound to the
// subscription. A subscriber not connected misses the ping, as R4 has it.
func (h *Hub) Notify(_ context.Context, n *Notification) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.bound[subKey{n.Sandbox, n.Subscription}] {
		select {
		case c.send <- "ping " + n.Subscription:
		default: // a client that does not read loses pings, not the server its memory
		}
	}
	return nil
}

// Serve upgrades r to a websocket of sandbox and runs the protocol until
// the client leaves.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, sandbox string) {
	ctx := r.Context()
	authed := !h.cfg.Secured(ctx, sandbox)
	proof := h.proofOf(r, sandbox)
	if h.cfg.Nonce != nil {
		if n, err := h.cfg.Nonce(ctx); err == nil {
			w.Header().Set("DPoP-Nonce", n)
		}
	}
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok &&
		(strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP")) {
		if err := h.cfg.Authenticate(ctx, sandbox, strings.TrimSpace(tok), proof); err != nil {
			var d *DPoPError
			if errors.As(err, &d) {
				w.Header().Set("WWW-Authenticate", `DPoP error="invalid_dpop_proof"`)
				http.Error(w, d.Error(), http.StatusUnauthorized)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		authed = true
	}
	c := &wsConn{send: make(chan string, wsSendQueue)}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "the server is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.open[c] = cancel
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	// Any origin: the socket carries no ambient credential (no cookie),
	// only the token the client sends, so a page of another origin gains
	// nothing a script could not do with the token itself.
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{"*"}})
	if err != nil {
		h.mu.Lock()
		delete(h.open, c)
		h.mu.Unlock()
		return // Accept answered the request
	}
	ws.SetReadLimit(wsMaxMessage)
	var keys []subKey
	defer func() {
		h.mu.Lock()
		delete(h.open, c)
		for _, k := range keys {
			delete(h.bound[k], c)
			if len(h.bound[k]) == 0 {
				delete(h.bound, k)
			}
		}
		h.mu.Unlock()
	}()
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case msg := <-c.send:
				wctx, wcancel := context.WithTimeout(ctx, wsWriteWait)
				err := ws.Write(wctx, websocket.MessageText, []byte(msg))
				wcancel()
				if err != nil {
					return
				}
			}
		}
	}()
	reply := func(msg string) {
		select {
		case c.send <- msg:
		case <-ctx.Done():
		}
	}
	for {
		typ, data, err := ws.Read(ctx)
		if err != nil {
			ws.CloseNow()
			return
		}
		if typ != websocket.MessageText {
			reply("error messages are text")
			continue
		}
		verb, arg, _ := strings.Cut(strings.TrimSpace(string(data)), " ")
		arg = strings.TrimSpace(arg)
		switch verb {
		case "bind-with-token":
			if err := h.cfg.Authenticate(ctx, sandbox, arg, proof); err != nil {
				reply(refusal(err))
				continue
			}
			authed = true
			reply("authenticated")
		case "bind":
			if !authed {
				reply("error authenticate first: bind-with-token <access token>")
				continue
			}
			if len(keys) >= wsMaxBindings {
				reply(fmt.Sprintf("error at most %d subscriptions per connection", wsMaxBindings))
				continue
			}
			if err := h.checkBind(ctx, sandbox, arg); err != nil {
				reply("error " + err.Error())
				continue
			}
			k := subKey{fhirstore.Sandbox(sandbox), arg}
			h.mu.Lock()
			if h.bound[k] == nil {
				h.bound[k] = map[*wsConn]struct{}{}
			}
			h.bound[k][c] = struct{}{}
			h.mu.Unlock()
			keys = append(keys, k)
			reply("bound " + arg)
		default:
			reply("error unknown message; send bind-with-token <token> or bind <subscription id>")
		}
	}
}

// checkBind says whether id names a websocket Subscription of sandbox
// that is not off.
func (h *Hub) checkBind(ctx context.Context, sandbox, id string) error {
	if id == "" || !fhirjson.ValidID(id) {
		return errors.New("bind needs a subscription id")
	}
	res, err := h.cfg.Store.Read(search.Unconfined(ctx), fhirstore.Sandbox(sandbox), "Subscription", id)
	if err != nil {
		return fmt.Errorf("no Subscription/%s in this sandbox", id)
	}
	s, _ := parse(fhirstore.Sandbox(sandbox), res)
	if s == nil || s.channel != Websocket {
		return fmt.Errorf("Subscription/%s is not a websocket subscription", id)
	}
	if s.status == StatusOff {
		return fmt.Errorf("Subscription/%s is off", id)
	}
	return nil
}
