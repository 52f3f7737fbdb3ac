package sim

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
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionLife is how long a client assertion lives: HelseID takes at
// most 60 seconds.
const assertionLife = 50 * time.Second

// helseID gets and uses DPoP-bound access tokens as a HelseID client does:
// client_credentials with a private_key_jwt assertion (single-use jti) and
// a DPoP proof of a key made for the run (ES256), following the server's
// use_dpop_nonce challenges; each request carries a fresh proof of its
// method, URL and token.
type helseID struct {
	http      *http.Client
	tokenURL  string
	clientID  string
	keyID     string
	key       crypto.Signer
	scope     string
	dpop      *ecdsa.PrivateKey
	assertAlg jose.SignatureAlgorithm

	mu      sync.Mutex
	nonce   string
	token   string
	expires time.Time
}

// tokenEndpoint finds the authorization server's token endpoint in the
// FHIR server's SMART configuration (SMART App Launch 2.x).
func tokenEndpoint(ctx context.Context, client *http.Client, root string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/fhir/.well-known/smart-configuration", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sim: the SMART configuration: %w", err)
	}
	defer resp.Body.Close()
	var conf struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&conf); err != nil || resp.StatusCode != http.StatusOK || conf.TokenEndpoint == "" {
		return "", fmt.Errorf("sim: %s/fhir/.well-known/smart-configuration (status %d) names no token endpoint", root, resp.StatusCode)
	}
	return conf.TokenEndpoint, nil
}

func newHelseID(ctx context.Context, cfg Config, root string) (*helseID, error) {
	alg, err := assertionAlg(cfg.Key)
	if err != nil {
		return nil, err
	}
	dk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	kid := cfg.KeyID
	if kid == "" {
		tp, err := (&jose.JSONWebKey{Key: cfg.Key.Public()}).Thumbprint(crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("sim: the client key: %w", err)
		}
		kid = base64.RawURLEncoding.EncodeToString(tp)
	}
	tokenURL, err := tokenEndpoint(ctx, cfg.Client, root)
	if err != nil {
		return nil, err
	}
	return &helseID{http: cfg.Client, tokenURL: tokenURL, clientID: cfg.ClientID, keyID: kid, key: cfg.Key,
		scope: cfg.Scope, dpop: dk, assertAlg: alg}, nil
}

// assertionAlg is the JWS algorithm of a client assertion with key.
func assertionAlg(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return "", errors.New("sim: an RSA client key must have 2048 bits or more")
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
	return "", fmt.Errorf("sim: a client key of type %T signs no assertion the server takes (RSA, or ECDSA on P-256 or P-384)", key)
}

func (h *helseID) sign(alg jose.SignatureAlgorithm, key any, opts *jose.SignerOptions, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// proof signs a DPoP proof of method and u (without query and fragment)
// with the nonce in force and, when token is set, its hash.
func (h *helseID) proof(method, u, token string) (string, error) {
	htu, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	htu.RawQuery, htu.Fragment = "", ""
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": htu.String(), "iat": time.Now().Unix()}
	if n := h.currentNonce(); n != "" {
		claims["nonce"] = n
	}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return h.sign(jose.ES256, h.dpop, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"), claims)
}

func (h *helseID) currentNonce() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.nonce
}

// keepNonce keeps the server's nonce, which any answer may give (RFC
// 9449 §8.2); it reports whether the answer is a use_dpop_nonce challenge.
func (h *helseID) keepNonce(resp *http.Response, body []byte) bool {
	if n := resp.Header.Get("DPoP-Nonce"); n != "" {
		h.mu.Lock()
		h.nonce = n
		h.mu.Unlock()
	}
	if strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
		return true
	}
	var e struct {
		Error string `json:"error"`
	}
	return resp.StatusCode == http.StatusBadRequest && json.Unmarshal(body, &e) == nil && e.Error == "use_dpop_nonce"
}

// accessToken returns a token that lives for another 10 seconds at
// least, getting a new one when needed.
func (h *helseID) accessToken(ctx context.Context) (string, error) {
	h.mu.Lock()
	tok, exp := h.token, h.expires
	h.mu.Unlock()
	if tok != "" && time.Until(exp) > 10*time.Second {
		return tok, nil
	}
	for range 2 { // the first answer may be the nonce challenge
		now := time.Now()
		assertion, err := h.sign(h.assertAlg, h.key, (&jose.SignerOptions{}).WithType("client-authentication+jwt").WithHeader("kid", h.keyID),
			map[string]any{"iss": h.clientID, "sub": h.clientID, "aud": h.tokenURL, "jti": rand.Text(),
				"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(assertionLife).Unix()})
		if err != nil {
			return "", err
		}
		proof, err := h.proof(http.MethodPost, h.tokenURL, "")
		if err != nil {
			return "", err
		}
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {h.scope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.tokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("DPoP", proof)
		resp, err := h.http.Do(req)
		if err != nil {
			return "", fmt.Errorf("sim: token endpoint: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if h.keepNonce(resp, body) {
			continue
		}
		var out struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int64  `json:"expires_in"`
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &out)
		if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
			return "", fmt.Errorf("sim: the token endpoint answered %d %s: %s", resp.StatusCode, out.Error, out.Description)
		}
		if !strings.EqualFold(out.TokenType, "DPoP") {
			return "", fmt.Errorf("sim: the token endpoint issued a %s token, not a DPoP-bound one: register the client with dpop_bound_access_tokens, or send --token as a bearer token", out.TokenType)
		}
		h.mu.Lock()
		h.token, h.expires = out.AccessToken, now.Add(time.Duration(out.ExpiresIn)*time.Second)
		h.mu.Unlock()
		return out.AccessToken, nil
	}
	return "", errors.New("sim: the token endpoint kept answering use_dpop_nonce")
}

// authorize sets req's Authorization and DPoP headers.
func (h *helseID) authorize(req *http.Request) error {
	tok, err := h.accessToken(req.Context())
	if err != nil {
		return err
	}
	proof, err := h.proof(req.Method, req.URL.String(), tok)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "DPoP "+tok)
	req.Header.Set("DPoP", proof)
	return nil
}
