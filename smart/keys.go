package smart

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idTokenAlg signs id_tokens: RS256 is the one algorithm every OIDC client
// library must accept.
const idTokenAlg = jose.RS256

// accessTokenAlg signs access tokens: ES256 signs some thirty times faster
// than RS256, which bounds how many tokens a gateway issues per second,
// and verifies about as fast.
const accessTokenAlg = jose.ES256

// Keys holds the server's signing keys: an RSA key for id_tokens and a
// P-256 key for access tokens, derived from the RSA key so that gateways
// sharing one configured RSA key also share the access-token key. The
// current pair signs; the previous pair (after Rotate) still verifies, so
// tokens issued just before a rotation stay valid until they expire. Its
// methods are safe for concurrent use.
type Keys struct {
	mu       sync.RWMutex
	current  *keyPair
	previous *keyPair
}

// keyPair is one generation of keys.
type keyPair struct {
	rsa, ec *jose.JSONWebKey
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
	pair, err := newKeyPair(priv)
	if err != nil {
		return nil, err
	}
	return &Keys{current: pair}, nil
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
	pair, err := newKeyPair(priv)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.previous, k.current = k.current, pair
	return nil
}

func newKeyPair(priv *rsa.PrivateKey) (*keyPair, error) {
	rj, err := newJWK(priv, idTokenAlg)
	if err != nil {
		return nil, err
	}
	ecKey, err := deriveECKey(priv)
	if err != nil {
		return nil, err
	}
	ej, err := newJWK(ecKey, accessTokenAlg)
	if err != nil {
		return nil, err
	}
	return &keyPair{rsa: rj, ec: ej}, nil
}

// deriveECKey derives the P-256 access-token key from the RSA key's
// private exponent with HKDF-SHA256, retrying with a counter in the rare
// case a candidate is not a valid scalar.
func deriveECKey(priv *rsa.PrivateKey) (*ecdsa.PrivateKey, error) {
	for i := range 16 {
		scalar, err := hkdf.Key(sha256.New, priv.D.Bytes(), nil, fmt.Sprintf("hp-sandbox access-token key %d", i), 32)
		if err != nil {
			return nil, fmt.Errorf("smart: deriving access-token key: %w", err)
		}
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar); err == nil {
			return k, nil
		}
	}
	return nil, errors.New("smart: deriving access-token key: no valid scalar")
}

// newJWK wraps priv as a signing JWK whose kid is its RFC 7638 thumbprint.
func newJWK(priv crypto.Signer, alg jose.SignatureAlgorithm) (*jose.JSONWebKey, error) {
	jwk := &jose.JSONWebKey{Key: priv, Algorithm: string(alg), Use: "sig"}
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
	for _, p := range []*keyPair{k.current, k.previous} {
		if p != nil {
			set.Keys = append(set.Keys, p.rsa.Public(), p.ec.Public())
		}
	}
	return set
}

// sign serialises claims as a JWT signed with the current RSA key (RS256),
// with its kid in the header: for id_tokens.
func (k *Keys) sign(claims any) (string, error) {
	return k.signWith(claims, func(p *keyPair) *jose.JSONWebKey { return p.rsa })
}

// signAccess serialises claims as a JWT signed with the current P-256 key
// (ES256): for access tokens.
func (k *Keys) signAccess(claims any) (string, error) {
	return k.signWith(claims, func(p *keyPair) *jose.JSONWebKey { return p.ec })
}

func (k *Keys) signWith(claims any, pick func(*keyPair) *jose.JSONWebKey) (string, error) {
	k.mu.RLock()
	p := k.current
	k.mu.RUnlock()
	if p == nil {
		return "", errors.New("smart: no signing key")
	}
	jwk := pick(p)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(jwk.Algorithm), Key: jwk},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("smart: signer: %w", err)
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// verify checks a JWT the server signed (with a current or previous key,
// in the algorithm of that key) and decodes its claims into dest. It
// checks the signature only.
func (k *Keys) verify(token string, dest ...any) error {
	_, err := k.verifyKID(token, dest...)
	return err
}

// verifyKID is verify that also returns the kid of the verifying key.
func (k *Keys) verifyKID(token string, dest ...any) (string, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{idTokenAlg, accessTokenAlg})
	if err != nil {
		return "", fmt.Errorf("malformed token: %w", err)
	}
	if len(parsed.Headers) != 1 {
		return "", errors.New("token must carry exactly one signature")
	}
	h := parsed.Headers[0]
	k.mu.RLock()
	var key *jose.JSONWebKey
	for _, p := range []*keyPair{k.current, k.previous} {
		if p == nil {
			continue
		}
		for _, jwk := range []*jose.JSONWebKey{p.rsa, p.ec} {
			if jwk.KeyID == h.KeyID {
				key = jwk
			}
		}
	}
	k.mu.RUnlock()
	if key == nil {
		return "", errors.New("token signed by an unknown key")
	}
	if h.Algorithm != key.Algorithm {
		return "", errors.New("token signed with another algorithm than its key's")
	}
	if err := parsed.Claims(key.Public().Key, dest...); err != nil {
		return "", fmt.Errorf("bad token signature: %w", err)
	}
	return key.KeyID, nil
}

// has reports whether a key with kid still verifies (current or previous).
func (k *Keys) has(kid string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, p := range []*keyPair{k.current, k.previous} {
		if p != nil && (p.rsa.KeyID == kid || p.ec.KeyID == kid) {
			return true
		}
	}
	return false
}
