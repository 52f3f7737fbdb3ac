package smart

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// A client sends every DPoP proof with the same protected header (alg, typ
// and its public jwk), so parsing that header, its key and its thumbprint
// again on every request is wasted work. dpopHeaders remembers the headers
// of proofs that passed every check of parseDPoPProof with go-jose, keyed by
// their exact encoded bytes; a later proof with the same bytes then only
// needs its signature verified and its claims read. Whatever the shortcut
// cannot settle (another header, a bad signature, an unusual encoding) goes
// the full way, so it accepts nothing go-jose would refuse and every refusal
// keeps its error.

// dpopHeadersMax bounds the remembered headers; a header is at most
// dpopMaxProofBytes, so the cache holds a few megabytes at worst.
const dpopHeadersMax = 512

// dpopHeader is what a remembered protected header established: an EC key
// that verified a proof with alg, and the key's thumbprint.
type dpopHeader struct {
	key  *ecdsa.PublicKey
	hash crypto.Hash
	size int // bytes of r and of s in a signature
	jkt  string
}

// dpopHeaders is a bounded set of remembered headers, safe for concurrent
// use; the zero value is empty and ready.
type dpopHeaders struct {
	mu sync.RWMutex
	m  map[string]*dpopHeader
}

// dpopSeen is the headers remembered by parseDPoPProof.
var dpopSeen = &dpopHeaders{}

// verify returns the payload and key thumbprint of proof when its header is
// remembered and its signature verifies; ok false leaves the decision,
// and the error, to the full parse. A nil set remembers nothing.
func (c *dpopHeaders) verify(proof string) (payload []byte, jkt string, ok bool) {
	if c == nil {
		return nil, "", false
	}
	first, second, ok := compactJWS(proof)
	if !ok {
		return nil, "", false
	}
	c.mu.RLock()
	h := c.m[proof[:first]]
	c.mu.RUnlock()
	if h == nil {
		return nil, "", false
	}
	// Strict decoding refuses non-zero padding bits, so the encoded
	// segments are the canonical encodings go-jose computes the signing
	// input from, and the input is the proof's own first two segments.
	payload, err := base64.RawURLEncoding.Strict().DecodeString(proof[first+1 : second])
	if err != nil {
		return nil, "", false
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(proof[second+1:])
	if err != nil || len(sig) != 2*h.size {
		return nil, "", false
	}
	hs := h.hash.New()
	hs.Write([]byte(proof[:second]))
	r := new(big.Int).SetBytes(sig[:h.size])
	s := new(big.Int).SetBytes(sig[h.size:])
	if !ecdsa.Verify(h.key, hs.Sum(nil), r, s) {
		return nil, "", false
	}
	return payload, h.jkt, true
}

// compactJWS finds the two dots of a JWS in plain compact serialization:
// base64url characters and two dots, nothing else. go-jose also strips
// white space and takes JSON serialization; those go the full way.
func compactJWS(proof string) (first, second int, ok bool) {
	first, second = -1, -1
	for i := 0; i < len(proof); i++ {
		switch ch := proof[i]; {
		case ch == '.':
			if first < 0 {
				first = i
			} else if second < 0 {
				second = i
			} else {
				return 0, 0, false
			}
		case 'A' <= ch && ch <= 'Z', 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9', ch == '-', ch == '_':
		default:
			return 0, 0, false
		}
	}
	return first, second, second >= 0
}

// dpopHeaderFields are the header parameters a remembered header may
// have: none that changes how the signing input is formed (b64, crit).
var dpopHeaderFields = map[string]bool{"alg": true, "typ": true, "jwk": true, "kid": true}

// remember keeps the header of proof, which passed every check of
// parseDPoPProof with jwk, alg and thumbprint jkt. Headers of RSA keys, of
// other parameters or not canonically encoded are not kept.
func (c *dpopHeaders) remember(proof string, alg string, jwk *jose.JSONWebKey, jkt string) {
	if c == nil {
		return
	}
	key, isEC := jwk.Key.(*ecdsa.PublicKey)
	if !isEC {
		return
	}
	var h *dpopHeader
	switch jose.SignatureAlgorithm(alg) {
	case jose.ES256:
		h = &dpopHeader{key: key, hash: crypto.SHA256, size: 32, jkt: jkt}
	case jose.ES384:
		h = &dpopHeader{key: key, hash: crypto.SHA384, size: 48, jkt: jkt}
	default:
		return
	}
	first, _, ok := compactJWS(proof)
	if !ok {
		return
	}
	enc := proof[:first]
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil {
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return
	}
	for name := range fields {
		if !dpopHeaderFields[name] {
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*dpopHeader)
	}
	if _, known := c.m[enc]; !known && len(c.m) >= dpopHeadersMax {
		for old := range c.m { // any one: a client that comes back is parsed again once
			delete(c.m, old)
			break
		}
	}
	c.m[enc] = h
}
