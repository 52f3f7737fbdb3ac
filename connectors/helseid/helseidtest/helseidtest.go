// Package helseidtest is a HelseID-style client for tests of the
// connectors that HelseID protects: it registers itself with a gateway
// (RFC 7591, the HelseID profile, dpop_bound_access_tokens), gets tokens
// with client_credentials and a private_key_jwt assertion (ES384, 30 s)
// and a DPoP proof (ES256), follows the server's use_dpop_nonce challenges,
// and sends requests with Authorization: DPoP and a fresh proof.
//
// It speaks HTTP only, signs with go-jose, and is not for production use:
// its keys live in memory.
package helseidtest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionKID names the client's assertion key in its JWKS.
const assertionKID = "helseidtest-1"

// Client is a HelseID-style client of one gateway. Make it with New; it is
// safe for concurrent use.
type Client struct {
	// Gateway is the gateway's URL (its issuer), e.g. http://127.0.0.1:8080.
	Gateway string
	// ClientID is set by Register, or by the test that registered the
	// client another way (with JWKS).
	ClientID string
	// HTTP sends the requests; http.DefaultClient when nil.
	HTTP *http.Client

	assertionKey *ecdsa.PrivateKey
	dpopKey      *ecdsa.PrivateKey
	jkt          string

	mu    sync.Mutex
	nonce string // the last DPoP-Nonce the server gave
}

// New returns a client of gateway with fresh keys.
func New(gateway string) (*Client, error) {
	ak, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	dk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tp, err := (&jose.JSONWebKey{Key: dk.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &Client{Gateway: strings.TrimRight(gateway, "/"), assertionKey: ak, dpopKey: dk,
		jkt: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// JWKS is the client's public assertion key as a JWK Set, to register.
func (c *Client) JWKS() json.RawMessage {
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: c.assertionKey.Public(), KeyID: assertionKID, Algorithm: string(jose.ES384), Use: "sig"}}})
	return b
}

// JKT is the RFC 7638 thumbprint of the client's DPoP key: the cnf.jkt of
// its tokens.
func (c *Client) JKT() string { return c.jkt }

// TokenURL is the gateway's token endpoint.
func (c *Client) TokenURL() string { return c.Gateway + "/auth/token" }

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Register registers the client at registerURL (RFC 7591) with the
// HelseID profile, DPoP-bound tokens, scope and vkpID, presenting
// initialAccessToken, and sets ClientID.
func (c *Client) Register(ctx context.Context, registerURL, initialAccessToken, scope, vkpID string) error {
	body, _ := json.Marshal(map[string]any{
		"client_name": "helseidtest client", "token_endpoint_auth_method": "private_key_jwt",
		"grant_types": []string{"client_credentials"}, "scope": scope, "jwks": c.JWKS(),
		"dpop_bound_access_tokens": true, "helseid": true, "vkp_id": vkpID,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, registerURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if initialAccessToken != "" {
		req.Header.Set("Authorization", "Bearer "+initialAccessToken)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		ClientID string `json:"client_id"`
		Error    string `json:"error"`
		Desc     string `json:"error_description"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
	if resp.StatusCode != http.StatusCreated || out.ClientID == "" {
		return fmt.Errorf("helseidtest: registration answered %d %s: %s", resp.StatusCode, out.Error, out.Desc)
	}
	c.ClientID = out.ClientID
	return nil
}

// Assertion signs a client assertion for the token endpoint, living 30
// seconds; edit may change its claims first.
func (c *Client) Assertion(edit func(claims map[string]any)) (string, error) {
	now := time.Now()
	claims := map[string]any{
		"iss": c.ClientID, "sub": c.ClientID, "aud": c.TokenURL(),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(30 * time.Second).Unix(), "jti": rand.Text(),
	}
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: c.assertionKey},
		(&jose.SignerOptions{}).WithType("client-authentication+jwt").WithHeader("kid", assertionKID))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// Proof signs a DPoP proof for method and htu, with nonce and, when token
// is not empty, its ath; edit may change its claims first.
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
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.dpopKey},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// Nonce is the last DPoP nonce the server gave; "" before any.
func (c *Client) Nonce() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nonce
}

func (c *Client) keepNonce(resp *http.Response) {
	if n := resp.Header.Get("DPoP-Nonce"); n != "" {
		c.mu.Lock()
		c.nonce = n
		c.mu.Unlock()
	}
}

// Token is a token response.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// OAuthError is a refusal of the token endpoint (RFC 6749 §5.2).
type OAuthError struct {
	Status      int
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *OAuthError) Error() string {
	return fmt.Sprintf("helseidtest: token endpoint answered %d %s: %s", e.Status, e.Code, e.Description)
}

// Token gets a DPoP-bound token for scope with client_credentials,
// answering one use_dpop_nonce challenge with a new proof and assertion.
// A refusal is an *OAuthError.
func (c *Client) Token(ctx context.Context, scope string) (*Token, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.tokenOnce(ctx, scope)
		var oe *OAuthError
		if attempt == 0 && errors.As(err, &oe) && oe.Code == "use_dpop_nonce" {
			continue
		}
		return tok, err
	}
}

func (c *Client) tokenOnce(ctx context.Context, scope string) (*Token, error) {
	assertion, err := c.Assertion(nil)
	if err != nil {
		return nil, err
	}
	proof, err := c.Proof(http.MethodPost, c.TokenURL(), c.Nonce(), "", nil)
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	c.keepNonce(resp)
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		oe := &OAuthError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, oe)
		return nil, oe
	}
	var tok Token
	if err := json.Unmarshal(b, &tok); err != nil {
		return nil, fmt.Errorf("helseidtest: token response: %w", err)
	}
	return &tok, nil
}

// Do sends req with Authorization: DPoP token and a fresh proof for its
// method and URL, and answers one use_dpop_nonce challenge by sending it
// again with the server's nonce (req.GetBody must then be set, as
// http.NewRequest sets it for the usual bodies).
func (c *Client) Do(req *http.Request, token string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		htu := *req.URL
		htu.RawQuery, htu.Fragment = "", ""
		proof, err := c.Proof(req.Method, htu.String(), c.Nonce(), token, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof)
		resp, err := c.http().Do(req)
		if err != nil {
			return nil, err
		}
		c.keepNonce(resp)
		if attempt > 0 || resp.StatusCode != http.StatusUnauthorized ||
			!strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
			return resp, nil
		}
		if req.Body != nil {
			if req.GetBody == nil {
				return resp, nil
			}
			body, err := req.GetBody()
			if err != nil {
				return resp, nil
			}
			req.Body = body
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
