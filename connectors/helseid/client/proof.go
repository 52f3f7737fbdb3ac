package client

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"

	"github.com/go-jose/go-jose/v4"
)

// A client signs a fresh DPoP proof for every request, always under the
// same protected header: go-jose's signer and JWT builder rebuilt and
// re-encoded that header, and turned the claims over twice, each time.
// The header is encoded once per key instead, and a proof is the compact
// JWS of RFC 7515 §7.1 built directly: ES256 over the two encoded
// segments, the signature r and s as 32 big-endian bytes each (RFC 7518
// §3.4).

// proofHeader is the encoded protected header of the proofs key signs:
// ES256, typ dpop+jwt and its public key as jwk (RFC 9449 §4.2).
func proofHeader(key *ecdsa.PrivateKey) (string, error) {
	jwk, err := json.Marshal(&jose.JSONWebKey{Key: key.Public()})
	if err != nil {
		return "", err
	}
	h, err := json.Marshal(struct {
		Alg string          `json:"alg"`
		JWK json.RawMessage `json:"jwk"`
		Typ string          `json:"typ"`
	}{string(jose.ES256), jwk, "dpop+jwt"})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(h), nil
}

// signProof signs claims under header, the encoded header of key's
// proofs, as a compact JWS.
func signProof(key *ecdsa.PrivateKey, header string, claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	n := len(header) + 1 + enc.EncodedLen(len(payload))
	buf := make([]byte, 0, n+1+enc.EncodedLen(64))
	buf = append(buf, header...)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sum := sha256.Sum256(buf)
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig[:])
	return string(buf), nil
}
