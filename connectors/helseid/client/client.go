package client

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultAssertionLife is how long a client assertion lives unless
// Client.AssertionLife says otherwise: HelseID takes at most 60 seconds.
const DefaultAssertionLife = 50 * time.Second

// ErrNotDPoP is the error of AccessToken when the token endpoint issues a
// token that is not DPoP-bound.
var ErrNotDPoP = errors.New("helseid client: the token endpoint issued a token that is not DPoP-bound")

// Client is a HelseID-style client of one token endpoint. Make it with New
// and set TokenURL and ClientID before use; it is safe for concurrent use
// after that.
type Client struct {
	// TokenURL is the token endpoint, the aud of the client assertion.
	TokenURL string
	// ClientID is the client's id, the iss and sub of its assertion.
	ClientID string
	// Scope is what AccessToken asks for.
	Scope string
	// HTTP sends the requests; http.DefaultClient when nil.
	HTTP *http.Client
	// AssertionLife is how long an assertion lives; DefaultAssertionLife
	// when zero.
	AssertionLife time.Duration

	key   crypto.Signer
	keyID string
	alg   jose.SignatureAlgorithm
	dpop  *ecdsa.PrivateKey
	jkt   string
	// proofHeader is the encoded protected header of every proof.
	proofHeader string

	mu      sync.Mutex
	nonce   string // the last DPoP-Nonce the server gave
	token   string // AccessToken's token
	expires time.Time
}

// New returns a client that signs its assertions with key, named keyID in
// the client's JWKS (empty: the key's RFC 7638 thumbprint), and its DPoP
// proofs with a new P-256 key.
func New(key crypto.Signer, keyID string) (*Client, error) {
	alg, err := AssertionAlg(key)
	if err != nil {
		return nil, err
	}
	if keyID == "" {
		tp, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("helseid client: the client key: %w", err)
		}
		keyID = base64.RawURLEncoding.EncodeToString(tp)
	}
	dk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tp, err := (&jose.JSONWebKey{Key: dk.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	ph, err := proofHeader(dk)
	if err != nil {
		return nil, err
	}
	return &Client{key: key, keyID: keyID, alg: alg, dpop: dk, jkt: base64.RawURLEncoding.EncodeToString(tp), proofHeader: ph}, nil
}

// AssertionAlg is the JWS algorithm of a client assertion signed with
// key: RS384 for RSA of 2048 bits or more, ES256 or ES384 for ECDSA on
// P-256 or P-384.
func AssertionAlg(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", errors.New("helseid client: an RSA client key must have 2048 bits or more")
		}
		return jose.RS384, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P256():
			return jose.ES256, nil
		}
	}
	return "", fmt.Errorf("helseid client: a client key of type %T signs no assertion the server takes (RSA, or ECDSA on P-256 or P-384)", key)
}

// TokenEndpoint finds the authorization server's token endpoint in the
// SMART configuration of the FHIR server at root (SMART App Launch 2.x:
// root/fhir/.well-known/smart-configuration).
func TokenEndpoint(ctx context.Context, hc *http.Client, root string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/fhir/.well-known/smart-configuration", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("helseid client: the SMART configuration: %w", err)
	}
	defer resp.Body.Close()
	var conf struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&conf); err != nil || resp.StatusCode != http.StatusOK || conf.TokenEndpoint == "" {
		return "", fmt.Errorf("helseid client: %s/fhir/.well-known/smart-configuration (status %d) names no token endpoint", root, resp.StatusCode)
	}
	return conf.TokenEndpoint, nil
}

// KeyID names the assertion key in the client's JWKS.
func (c *Client) KeyID() string { return c.keyID }

// JKT is the RFC 7638 thumbprint of the client's DPoP key: the cnf.jkt of
// its tokens.
func (c *Client) JKT() string { return c.jkt }

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func sign(alg jose.SignatureAlgorithm, key any, opts *jose.SignerOptions, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// Assertion signs a client assertion for the token endpoint, living
// AssertionLife; edit may change its claims first.
func (c *Client) Assertion(edit func(claims map[string]any)) (string, error) {
	life := c.AssertionLife
	if life == 0 {
		life = DefaultAssertionLife
	}
	now := time.Now()
	claims := map[string]any{"iss": c.ClientID, "sub": c.ClientID, "aud": c.TokenURL, "jti": rand.Text(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(life).Unix()}
	if edit != nil {
		edit(claims)
	}
	return sign(c.alg, c.key, (&jose.SignerOptions{}).WithType("client-authentication+jwt").WithHeader("kid", c.keyID), claims)
}

// Proof signs a DPoP proof for method and htu as given, with nonce and,
// when token is not empty, its ath; edit may change its claims first.
func (c *Client) Proof(method, htu, nonce, token string, edit func(claims map[string]any)) (string, error) {
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if edit != nil {
		edit(claims)
	}
	if c.dpop == nil {
		return "", errors.New("helseid client: the client has no DPoP key; make it with New")
	}
	return signProof(c.dpop, c.proofHeader, claims)
}

// requestProof is the proof of req with the nonce in force and token:
// its htu is req's URL without query and fragment.
func (c *Client) requestProof(req *http.Request, token string) (string, error) {
	htu := *req.URL
	htu.RawQuery, htu.Fragment = "", ""
	return c.Proof(req.Method, htu.String(), c.Nonce(), token, nil)
}

// Nonce is the last DPoP nonce the server gave; "" before any.
func (c *Client) Nonce() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nonce
}

// KeepNonce keeps the server's nonce, which any answer may give (RFC
// 9449 §8.2), and reports whether the answer (resp, with its body read)
// is a use_dpop_nonce challenge: in WWW-Authenticate, or as the error of
// a 400 answer.
func (c *Client) KeepNonce(resp *http.Response, body []byte) bool {
	if n := resp.Header.Get("DPoP-Nonce"); n != "" {
		c.mu.Lock()
		c.nonce = n
		c.mu.Unlock()
	}
	if strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		return true
	}
	var e struct {
		Error string `json:"error"`
	}
	return resp.StatusCode == http.StatusBadRequest && json.Unmarshal(body, &e) == nil && e.Error == "use_dpop_nonce"
}
