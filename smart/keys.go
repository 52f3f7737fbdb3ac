package smart

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// signingAlg is the algorithm of every token the server signs; RS256 is the
// one algorithm every OIDC client library must accept.
const signingAlg = jose.RS256

// Keys holds the server's signing keys: the current key signs, the previous
// one (after Rotate) still verifies, so tokens issued just before a rotation
// stay valid until they expire. Its methods are safe for concurrent use.
type Keys struct {
	mu       sync.RWMutex
	current  *jose.JSONWebKey
	previous *jose.JSONWebKey
}

// NewKeys returns a key set with one freshly generated 2048-bit RSA key.
func NewKeys() (*Keys, error) {
	k := &Keys{}
	if err := k.Rotate(); err != nil {
		return nil, err
	}
	return k, nil
}

// NewKeysFrom returns a key set whose current key is priv, for keys loaded
// from configuration (several gateways must sign with the same key).
func NewKeysFrom(priv *rsa.PrivateKey) (*Keys, error) {
	jwk, err := newJWK(priv)
	if err != nil {
		return nil, err
	}
	return &Keys{current: jwk}, nil
}

// Rotate generates a new current key; the current key becomes the previous
// one and the key before it is dropped.
func (k *Keys) Rotate() error {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("smart: generating signing key: %w", err)
	}
	return k.rotateTo(priv)
}

func (k *Keys) rotateTo(priv *rsa.PrivateKey) error {
	jwk, err := newJWK(priv)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.previous, k.current = k.current, jwk
	return nil
}

// newJWK wraps priv as a signing JWK whose kid is its RFC 7638 thumbprint.
func newJWK(priv *rsa.PrivateKey) (*jose.JSONWebKey, error) {
	jwk := &jose.JSONWebKey{Key: priv, Algorithm: string(signingAlg), Use: "sig"}
	pub := jwk.Public()
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("smart: key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return jwk, nil
}

// JWKS returns the public keys, current first, as published at the jwks_uri.
func (k *Keys) JWKS() jose.JSONWebKeySet {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var set jose.JSONWebKeySet
	for _, jwk := range []*jose.JSONWebKey{k.current, k.previous} {
		if jwk != nil {
			set.Keys = append(set.Keys, jwk.Public())
		}
	}
	return set
}

// sign serialises claims as a JWT signed with the current key, with its kid
// in the header.
func (k *Keys) sign(claims any) (string, error) {
	k.mu.RLock()
	jwk := k.current
	k.mu.RUnlock()
	if jwk == nil {
		return "", errors.New("smart: no signing key")
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: signingAlg, Key: jwk},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("smart: signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// verify checks a JWT the server signed (with the current or previous key)
// and decodes its claims into dest. It checks the signature only.
func (k *Keys) verify(token string, dest ...any) error {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{signingAlg})
	if err != nil {
		return fmt.Errorf("malformed token: %w", err)
	}
	if len(parsed.Headers) != 1 {
		return errors.New("token must carry exactly one signature")
	}
	kid := parsed.Headers[0].KeyID
	k.mu.RLock()
	var key *jose.JSONWebKey
	for _, jwk := range []*jose.JSONWebKey{k.current, k.previous} {
		if jwk != nil && jwk.KeyID == kid {
			key = jwk
		}
	}
	k.mu.RUnlock()
	if key == nil {
		return errors.New("token signed by an unknown key")
	}
	if err := parsed.Claims(key.Public().Key, dest...); err != nil {
		return fmt.Errorf("bad token signature: %w", err)
	}
	return nil
}
