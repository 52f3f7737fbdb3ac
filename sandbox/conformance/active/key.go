package active

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// ParseKey reads a backend client's private key from PEM: PKCS #8
// ("PRIVATE KEY"), PKCS #1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE
// KEY"). SMART Backend Services signs with RS384 or ES384, so the key is
// RSA of at least 2048 bits or ECDSA on P-384.
func ParseKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%w: the key file holds no PEM block", ErrConfig)
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: a PEM %q is not a private key (want PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)", ErrConfig, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: the private key does not parse: %v", ErrConfig, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("%w: an RSA key of %d bits is too short for RS384 (2048 at least)", ErrConfig, k.N.BitLen())
		}
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("%w: ES384 needs a P-384 key, not %s", ErrConfig, k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: a %T key signs neither RS384 nor ES384", ErrConfig, key)
}

// algOf is the JWS algorithm SMART Backend Services uses with key.
func algOf(key crypto.Signer) jose.SignatureAlgorithm {
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		return jose.ES384
	}
	return jose.RS384
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of key's public key,
// base64url: the kid the suite sends unless told another.
func Thumbprint(key crypto.Signer) (string, error) {
	b, err := (&jose.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
