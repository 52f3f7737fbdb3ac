// Package helseidtest is a HelseID-style client for tests of the
// connectors that HelseID protects: it registers itself with a gateway
// (RFC 7591, the HelseID profile, dpop_bound_access_tokens) and, through
// package helseid/client, gets tokens with client_credentials and a
// private_key_jwt assertion (ES384, 30 s) and a DPoP proof (ES256),
// follows the server's use_dpop_nonce challenges, and sends requests with
// Authorization: DPoP and a fresh proof.
//
// It speaks HTTP only and is not for production use: its keys live in
// memory.
package helseidtest

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
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"hpsandbox/connectors/helseid/client"
)

// assertionKID names the client's assertion key in its JWKS.
const assertionKID = "helseidtest-1"

// Client is a HelseID-style client of one gateway. Make it with New; it is
// safe for concurrent use. ClientID is set by Register, or by the test
// that registered the client another way (with JWKS); HTTP sends the
// requests (http.DefaultClient when nil). Token, Do, Assertion, Proof,
// Nonce and JKT are those of client.Client.
type Client struct {
	*client.Client
	// Gateway is the gateway's URL (its issuer), e.g. http://127.0.0.1:8080.
	Gateway string

	assertionKey *ecdsa.PrivateKey
}

// Token is a token response.
type Token = client.Token

// OAuthError is a refusal of the token endpoint (RFC 6749 §5.2).
type OAuthError = client.OAuthError

// New returns a client of gateway with fresh keys.
func New(gateway string) (*Client, error) {
	ak, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c, err := client.New(ak, assertionKID)
	if err != nil {
		return nil, err
	}
	gateway = strings.TrimRight(gateway, "/")
	c.TokenURL = gateway + "/auth/token"
	c.AssertionLife = 30 * time.Second
	return &Client{Client: c, Gateway: gateway, assertionKey: ak}, nil
}

// JWKS is the client's public assertion key as a JWK Set, to register.
func (c *Client) JWKS() json.RawMessage {
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: c.assertionKey.Public(), KeyID: assertionKID, Algorithm: string(jose.ES384), Use: "sig"}}})
	return b
}

// TokenURL is the gateway's token endpoint.
func (c *Client) TokenURL() string { return c.Client.TokenURL }

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
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
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
