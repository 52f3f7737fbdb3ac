package smart

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/crypto/bcrypt"
)

// ClientType says how a client authenticates at the token endpoint.
type ClientType int

// The client types of SMART App Launch 2.x. The zero value is invalid, so
// a registration that forgot its type is refused.
const (
	// Public clients (browser or native apps) send only client_id.
	Public ClientType = iota + 1
	// ConfidentialSymmetric clients send a client secret (Basic or POST).
	ConfidentialSymmetric
	// ConfidentialAsymmetric clients sign a JWT assertion with a key from
	// their registered JWKS (private_key_jwt); backend services are these.
	ConfidentialAsymmetric
)

// String returns the SMART capability-style name of the type.
func (t ClientType) String() string {
	switch t {
	case Public:
		return "public"
	case ConfidentialSymmetric:
		return "confidential-symmetric"
	case ConfidentialAsymmetric:
		return "confidential-asymmetric"
	}
	return fmt.Sprintf("ClientType(%d)", int(t))
}

// Client is a registered app.
type Client struct {
	// ID is the client_id.
	ID string
	// Name is shown on the consent page.
	Name string
	// Sandbox is the tenant the registration belongs to; it is carried in
	// every token so a token of one sandbox never reads another's data.
	Sandbox string
	// Type decides how the client authenticates.
	Type ClientType
	// SecretHash is the bcrypt hash of a symmetric client's secret.
	SecretHash []byte
	// RedirectURIs are matched exactly against redirect_uri.
	RedirectURIs []string
	// LaunchURL is where an EHR launch sends the user's browser.
	LaunchURL string
	// Scopes are the scopes the client may request (space-separated).
	Scopes string
	// JWKS holds an asymmetric client's public keys, or
	JWKS *jose.JSONWebKeySet
	// JWKSURL is where they are fetched from.
	JWKSURL string
	// DPoPBound is the client's dpop_bound_access_tokens (RFC 9449 §5.2):
	// every token request must carry a DPoP proof with the server's nonce,
	// and every token is bound to the proof's key.
	DPoPBound bool
	// HelseID marks a client of the HelseID profile (helseid.go): short
	// client assertions, HelseID-style scopes from its Scopes, its Claims
	// in its tokens, and DPoP as if DPoPBound.
	HelseID bool
	// Claims are string claims every access token of the client carries,
	// such as the welfare-technology hub's "vkp-id"; names must pass
	// ValidClientClaim.
	Claims map[string]string
}

// requiresDPoP reports whether the client's token requests need a DPoP
// proof with the server's nonce.
func (c *Client) requiresDPoP() bool { return c.DPoPBound || c.HelseID }

// HashSecret returns the bcrypt hash to store as Client.SecretHash.
func HashSecret(secret string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(secret), bcrypt.DefaultCost)
}

// checkSecret reports whether secret matches the client's hash.
func (c *Client) checkSecret(secret string) bool {
	return len(c.SecretHash) > 0 && bcrypt.CompareHashAndPassword(c.SecretHash, []byte(secret)) == nil
}

// hasRedirectURI matches uri exactly against the registered URIs, except
// that a registered loopback IP URI without a port (http://127.0.0.1/cb,
// http://[::1]/cb) accepts any port: native apps listen on an ephemeral
// port (RFC 8252 §7.3). Everything but the port must still match.
func (c *Client) hasRedirectURI(uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	got, err := url.Parse(uri)
	if err != nil || !ValidPort(got.Port()) {
		return false
	}
	for _, reg := range c.RedirectURIs {
		r, err := url.Parse(reg)
		if err != nil || r.Scheme != "http" || r.Port() != "" || !isLoopbackIP(r.Hostname()) {
			continue
		}
		if got.Scheme == r.Scheme && got.Hostname() == r.Hostname() && got.User == nil &&
			got.EscapedPath() == r.EscapedPath() && got.RawQuery == r.RawQuery && got.Fragment == "" {
			return true
		}
	}
	return false
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ValidPort reports whether port, as url.URL.Port returns it, is a TCP
// port a browser can be sent to: 1 to 65535 in decimal, without leading
// zeros. url.Parse accepts any run of digits (":0", ":99999").
func ValidPort(port string) bool {
	if port == "" || port[0] == '0' || len(port) > 5 {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// IsLoopbackURL reports whether raw is an http URL on a loopback IP
// address (RFC 8252 §7.3: not a name such as localhost), without user
// information or a fragment, whose port, if any, is valid. It is the rule
// for URLs an app under development may use in place of registered ones.
func IsLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || !isLoopbackIP(u.Hostname()) {
		return false
	}
	// url.Parse drops an empty port (":"), which is not a port either.
	if strings.HasSuffix(u.Host, ":") {
		return false
	}
	return u.Port() == "" || ValidPort(u.Port())
}

// ErrClientNotFound is returned by a ClientStore for an unknown client_id.
var ErrClientNotFound = errors.New("smart: client not found")

// ClientStore looks up registered clients.
type ClientStore interface {
	// Client returns the client with id, or an error wrapping
	// ErrClientNotFound.
	Client(ctx context.Context, id string) (*Client, error)
}

// MemoryClients is an in-memory ClientStore, safe for concurrent use. The
// zero value is empty and ready.
type MemoryClients struct {
	mu      sync.RWMutex
	clients map[string]*Client
}

// NewMemoryClients returns a store holding clients.
func NewMemoryClients(clients ...*Client) *MemoryClients {
	m := &MemoryClients{}
	for _, c := range clients {
		m.Put(c)
	}
	return m
}

// Put adds or replaces a client.
func (m *MemoryClients) Put(c *Client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.clients == nil {
		m.clients = map[string]*Client{}
	}
	cp := *c
	m.clients[c.ID] = &cp
}

// Client implements ClientStore.
func (m *MemoryClients) Client(_ context.Context, id string) (*Client, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.clients[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrClientNotFound, truncate(id, 80))
	}
	cp := *c
	return &cp, nil
}
