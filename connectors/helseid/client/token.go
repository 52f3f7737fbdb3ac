package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

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
	return fmt.Sprintf("helseid client: the token endpoint answered %d %s: %s", e.Status, e.Code, e.Description)
}

// Token gets a DPoP-bound token for scope with client_credentials,
// answering one use_dpop_nonce challenge with a new proof and assertion.
// A refusal is an *OAuthError.
func (c *Client) Token(ctx context.Context, scope string) (*Token, error) {
	for attempt := 0; ; attempt++ {
		tok, challenged, err := c.tokenOnce(ctx, scope)
		if attempt == 0 && challenged {
			continue
		}
		return tok, err
	}
}

// tokenOnce asks once; challenged reports a use_dpop_nonce refusal.
func (c *Client) tokenOnce(ctx context.Context, scope string) (tok *Token, challenged bool, err error) {
	assertion, err := c.Assertion(nil)
	if err != nil {
		return nil, false, err
	}
	proof, err := c.Proof(http.MethodPost, c.TokenURL, c.Nonce(), "", nil)
	if err != nil {
		return nil, false, err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("helseid client: the token endpoint: %w", err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	challenged = c.KeepNonce(resp, b)
	if resp.StatusCode != http.StatusOK {
		oe := &OAuthError{Status: resp.StatusCode}
		_ = json.Unmarshal(b, oe)
		return nil, challenged || oe.Code == "use_dpop_nonce", oe
	}
	tok = new(Token)
	if err := json.Unmarshal(b, tok); err != nil {
		return nil, false, fmt.Errorf("helseid client: the token response: %w", err)
	}
	return tok, false, nil
}

// AccessToken returns a DPoP-bound token for Scope that lives for another
// 10 seconds at least, getting a new one with Token when needed. A token
// of another type is an error wrapping ErrNotDPoP.
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok, exp := c.token, c.expires
	c.mu.Unlock()
	if tok != "" && time.Until(exp) > 10*time.Second {
		return tok, nil
	}
	now := time.Now()
	t, err := c.Token(ctx, c.Scope)
	if err != nil {
		return "", err
	}
	if t.AccessToken == "" {
		return "", fmt.Errorf("helseid client: the token endpoint answered 200 without an access token")
	}
	if !strings.EqualFold(t.TokenType, "DPoP") {
		return "", fmt.Errorf("%w (a %s token): register the client with dpop_bound_access_tokens", ErrNotDPoP, t.TokenType)
	}
	c.mu.Lock()
	c.token, c.expires = t.AccessToken, now.Add(time.Duration(t.ExpiresIn)*time.Second)
	c.mu.Unlock()
	return t.AccessToken, nil
}

// Authorize sets req's Authorization (DPoP and AccessToken's token) and
// DPoP headers, the proof with the nonce in force. Following a
// use_dpop_nonce challenge of the answer is the caller's (KeepNonce).
func (c *Client) Authorize(req *http.Request) error {
	tok, err := c.AccessToken(req.Context())
	if err != nil {
		return err
	}
	proof, err := c.requestProof(req, tok)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proof)
	return nil
}

// Do sends req with Authorization: DPoP token and a fresh proof for its
// method and URL, and answers one 401 use_dpop_nonce challenge by sending
// it again with the server's nonce (req.GetBody must then be set, as
// http.NewRequest sets it for the usual bodies).
func (c *Client) Do(req *http.Request, token string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		proof, err := c.requestProof(req, token)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "DPoP "+token)
		req.Header.Set("DPoP", proof)
		resp, err := c.http().Do(req)
		if err != nil {
			return nil, err
		}
		if n := resp.Header.Get("DPoP-Nonce"); n != "" {
			c.mu.Lock()
			c.nonce = n
			c.mu.Unlock()
		}
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
