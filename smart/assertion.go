package smart

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// assertionAlgs are the only algorithms SMART Backend Services allows for
// client assertions; anything else (HS256, none, RS256…) is refused.
var assertionAlgs = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

// maxAssertionLifetime bounds how far in the future an assertion's exp may
// be (SMART Backend Services: no more than five minutes).
const maxAssertionLifetime = 5 * time.Minute

// clockSkew tolerates small clock differences for iat and nbf.
const clockSkew = time.Minute

// verifyClientAssertion checks a private_key_jwt client assertion and
// returns the client it authenticates.
func (s *Server) verifyClientAssertion(ctx context.Context, assertion, formClientID string) (*Client, error) {
	tok, err := jwt.ParseSigned(assertion, assertionAlgs)
	if err != nil {
		return nil, ErrInvalidClient.describe("client_assertion must be a JWT signed with RS384 or ES384")
	}
	if len(tok.Headers) != 1 {
		return nil, ErrInvalidClient.describe("client_assertion must carry one signature")
	}
	hdr := tok.Headers[0]
	if hdr.KeyID == "" {
		return nil, ErrInvalidClient.describe("client_assertion header must name its key (kid)")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, ErrInvalidClient.describe("client_assertion claims do not parse")
	}
	if unverified.Issuer == "" || unverified.Issuer != unverified.Subject {
		return nil, ErrInvalidClient.describe("client_assertion iss and sub must both be the client_id")
	}
	if formClientID != "" && formClientID != unverified.Issuer {
		return nil, ErrInvalidClient.describe("client_id does not match the client_assertion")
	}
	client, err := s.lookupClient(ctx, unverified.Issuer)
	if err != nil {
		return nil, err
	}
	if client.Type != ConfidentialAsymmetric {
		return nil, ErrInvalidClient.describe("this client is %s and cannot use private_key_jwt", client.Type)
	}
	key, err := s.clientKey(ctx, client, hdr.KeyID, jose.SignatureAlgorithm(hdr.Algorithm))
	if err != nil {
		return nil, err
	}
	var claims jwt.Claims
	if err := tok.Claims(key, &claims); err != nil {
		return nil, ErrInvalidClient.describe("client_assertion signature does not verify")
	}
	if err := s.checkAssertionClaims(ctx, client, claims); err != nil {
		return nil, err
	}
	return client, nil
}

// checkAssertionClaims checks audience, lifetime and single use.
func (s *Server) checkAssertionClaims(ctx context.Context, client *Client, c jwt.Claims) error {
	clientID := client.ID
	now := s.now()
	tokenURL := s.url(pathToken)
	if !c.Audience.Contains(tokenURL) {
		return ErrInvalidClient.describe("client_assertion aud must be the token endpoint %s", tokenURL)
	}
	if c.Expiry == nil {
		return ErrInvalidClient.describe("client_assertion must have exp")
	}
	exp := c.Expiry.Time()
	switch {
	case !now.Before(exp):
		return ErrInvalidClient.describe("client_assertion has expired")
	case exp.Sub(now) > maxAssertionLifetime:
		return ErrInvalidClient.describe("client_assertion exp must be at most five minutes in the future")
	case c.NotBefore != nil && c.NotBefore.Time().After(now.Add(clockSkew)):
		return ErrInvalidClient.describe("client_assertion is not valid yet (nbf)")
	case c.IssuedAt != nil && c.IssuedAt.Time().After(now.Add(clockSkew)):
		return ErrInvalidClient.describe("client_assertion iat is in the future")
	case c.ID == "":
		return ErrInvalidClient.describe("client_assertion must have jti")
	case client.HelseID && (c.IssuedAt == nil || exp.Sub(c.IssuedAt.Time()) > helseIDAssertionLifetime || exp.Sub(now) > helseIDAssertionLifetime):
		return ErrInvalidClient.describe("client_assertion must have iat, and exp at most %d seconds after it (HelseID)", int(helseIDAssertionLifetime/time.Second))
	}
	fresh, err := s.state.PutIfAbsent(ctx, "jti:"+hashKey(clientID+"\x00"+c.ID), []byte{1}, exp.Sub(now)+clockSkew)
	if err != nil {
		return ErrServerError.describe("internal error")
	}
	if !fresh {
		e := ErrInvalidClient.describe("client_assertion jti was already used")
		e.jtiReplayed = true
		return e
	}
	return nil
}

// clientKey finds the client's public key with kid that can verify alg,
// from its registered JWKS or its jwks_url.
func (s *Server) clientKey(ctx context.Context, c *Client, kid string, alg jose.SignatureAlgorithm) (any, error) {
	var candidates []jose.JSONWebKey
	if c.JWKS != nil {
		candidates = c.JWKS.Key(kid)
	}
	if len(candidates) == 0 && c.JWKSURL != "" {
		set, err := s.jwksCache.keys(ctx, c.JWKSURL, kid)
		if err != nil {
			s.log.WarnContext(ctx, "fetching client JWKS failed", "client_id", c.ID, "err", err)
			return nil, ErrInvalidClient.describe("the client's jwks_url could not be fetched")
		}
		candidates = set.Key(kid)
	}
	for _, k := range candidates {
		if k.Algorithm != "" && k.Algorithm != string(alg) {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch pub := k.Key.(type) {
		case *rsa.PublicKey:
			if alg == jose.RS384 && pub.N.BitLen() >= 2048 {
				return pub, nil
			}
		case *ecdsa.PublicKey:
			if alg == jose.ES384 && pub.Curve == elliptic.P384() {
				return pub, nil
			}
		}
	}
	return nil, ErrInvalidClient.describe("no registered key with kid %q for %s", truncate(kid, 64), alg)
}

// jwksCache fetches and caches clients' JWK sets. An unknown kid triggers a
// refetch (the client may have rotated), at most once per refetchAfter.
type jwksCache struct {
	client  *http.Client
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]jwksEntry
}

type jwksEntry struct {
	set     jose.JSONWebKeySet
	fetched time.Time
}

const (
	jwksMaxAge       = 10 * time.Minute
	jwksRefetchAfter = 30 * time.Second
	jwksMaxBytes     = 256 << 10
	jwksFetchTimeout = 5 * time.Second
)

func (c *jwksCache) keys(ctx context.Context, url, kid string) (jose.JSONWebKeySet, error) {
	c.mu.Lock()
	e, ok := c.entries[url]
	c.mu.Unlock()
	age := c.now().Sub(e.fetched)
	if ok && age < jwksMaxAge && (len(e.set.Key(kid)) > 0 || age < jwksRefetchAfter) {
		return e.set, nil
	}
	set, err := c.fetch(ctx, url)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]jwksEntry{}
	}
	c.entries[url] = jwksEntry{set: set, fetched: c.now()}
	c.mu.Unlock()
	return set, nil
}

func (c *jwksCache) fetch(ctx context.Context, url string) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	ctx, cancel := context.WithTimeout(ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return set, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := c.client.Do(req)
	if err != nil {
		return set, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("jwks_url answered %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBytes)).Decode(&set); err != nil {
		return set, fmt.Errorf("jwks_url body: %w", err)
	}
	set.Keys = slices.DeleteFunc(set.Keys, func(k jose.JSONWebKey) bool { return !k.IsPublic() })
	return set, nil
}
