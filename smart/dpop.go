package smart

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DPoP (RFC 9449): a client proves, with a JWT signed by a key it holds
// (the proof, sent in the DPoP header), that it holds the key an access
// token is bound to. The token endpoint binds the token to the proof's key
// (cnf.jkt); the resource server checks a fresh proof on every request.

// dpopAlgs are the proof algorithms accepted: asymmetric only (RFC 9449
// §4.2 forbids MAC algorithms and none).
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.RS256, jose.RS384, jose.PS256}

// DPoPAlgs are the names of dpopAlgs, for discovery and challenges.
var DPoPAlgs = func() []string {
	out := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		out[i] = string(a)
	}
	return out
}()

const (
	// dpopMaxProofBytes bounds a DPoP header: a proof carries a public key,
	// so a few kilobytes at most.
	dpopMaxProofBytes = 8 << 10
	// dpopProofWindow is how far a proof's iat may lie from the server's
	// clock, either way; its jti is remembered that long and more.
	dpopProofWindow = 60 * time.Second
	// dpopNonceRotation is how often the server nonce changes; the
	// previous one is still accepted, so a nonce lives 1–2 periods.
	dpopNonceRotation = 5 * time.Minute
)

// dpopProof is a DPoP proof whose signature verified with the public key in
// its own header.
type dpopProof struct {
	JKT   string // the RFC 7638 SHA-256 thumbprint of the proof's key
	JTI   string
	HTM   string
	HTU   string
	IAT   time.Time
	Nonce string
	ATH   string
}

// dpopClaims are the claims of a proof as sent.
type dpopClaims struct {
	JTI   string          `json:"jti"`
	HTM   string          `json:"htm"`
	HTU   string          `json:"htu"`
	IAT   json.RawMessage `json:"iat"`
	Nonce *string         `json:"nonce"`
	ATH   *string         `json:"ath"`
}

// parseDPoPProof checks the form of a proof (RFC 9449 §4.3 steps 1–9 that
// do not depend on the request): one JWS with typ dpop+jwt, an asymmetric
// alg, a public jwk in the header that verifies the signature, and claims
// jti, htm, htu and iat of the right types. Errors are invalid_dpop_proof.
func parseDPoPProof(proof string) (*dpopProof, error) {
	return parseDPoPProofWith(proof, dpopSeen)
}

// parseDPoPProofWith is parseDPoPProof remembering the headers of good
// proofs in seen (nil: none), to verify the next proofs with them sooner.
func parseDPoPProofWith(proof string, seen *dpopHeaders) (*dpopProof, error) {
	bad := func(why string) (*dpopProof, error) { return nil, ErrInvalidDPoPProof.describe("%s", why) }
	if proof == "" || len(proof) > dpopMaxProofBytes {
		return bad("the DPoP header must hold one proof JWT of at most 8 KiB")
	}
	payload, jkt, remembered := seen.verify(proof)
	var (
		jwk *jose.JSONWebKey
		alg string
	)
	if !remembered {
		jws, err := jose.ParseSigned(proof, dpopAlgs)
		if err != nil {
			return bad("the DPoP proof must be a compact JWS signed with one of " + strings.Join(DPoPAlgs, ", "))
		}
		if len(jws.Signatures) != 1 {
			return bad("the DPoP proof must carry one signature")
		}
		h := jws.Signatures[0].Protected
		if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
			return bad(`the DPoP proof header must have typ "dpop+jwt"`)
		}
		jwk, alg = h.JSONWebKey, h.Algorithm
		if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
			return bad("the DPoP proof header must carry the public key (jwk) it is signed with")
		}
		switch k := jwk.Key.(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				return bad("the DPoP proof's RSA key must have at least 2048 bits")
			}
		case *ecdsa.PublicKey:
		default:
			return bad("the DPoP proof's key must be an RSA or EC public key")
		}
		if payload, err = jws.Verify(jwk); err != nil {
			return bad("the DPoP proof's signature does not verify with its jwk")
		}
	}
	var c dpopClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return bad("the DPoP proof's claims do not parse")
	}
	var iat float64
	if err := json.Unmarshal(c.IAT, &iat); err != nil || iat <= 0 || iat > 1e11 {
		return bad("the DPoP proof must have iat, a NumericDate")
	}
	if c.JTI == "" || len(c.JTI) > 256 || c.HTM == "" || c.HTU == "" {
		return bad("the DPoP proof must have jti, htm, htu and iat")
	}
	if !remembered {
		tp, err := jwk.Thumbprint(crypto.SHA256)
		if err != nil {
			return bad("the DPoP proof's jwk has no thumbprint")
		}
		jkt = base64.RawURLEncoding.EncodeToString(tp)
		seen.remember(proof, alg, jwk, jkt)
	}
	p := &dpopProof{JKT: jkt, JTI: c.JTI, HTM: c.HTM, HTU: c.HTU, IAT: time.Unix(int64(iat), 0)}
	if c.Nonce != nil {
		p.Nonce = *c.Nonce
	}
	if c.ATH != nil {
		p.ATH = *c.ATH
	}
	return p, nil
}

// dpopCheck is what a proof must match besides its own form.
type dpopCheck struct {
	method, htu string
	// token, when set, is the access token the proof must hash (ath).
	token string
	// jkt, when set, is the key the proof must be signed with.
	jkt string
	// nonce demands the server's current (or previous) nonce.
	nonce bool
}

// checkDPoP verifies the proof against the request it came with and
// records its jti. A missing or stale nonce is ErrUseDPoPNonce carrying the
// current nonce; everything else is invalid_dpop_proof.
func (s *Server) checkDPoP(ctx context.Context, raw string, want dpopCheck) (*dpopProof, error) {
	p, err := parseDPoPProof(raw)
	if err != nil {
		return nil, err
	}
	now := s.now()
	switch {
	case p.HTM != want.method:
		return nil, ErrInvalidDPoPProof.describe("the DPoP proof's htm is not the request's method %s", want.method)
	case !sameHTU(p.HTU, want.htu):
		return nil, ErrInvalidDPoPProof.describe("the DPoP proof's htu is not the request's URL %s", want.htu)
	case p.IAT.After(now.Add(dpopProofWindow)) || p.IAT.Before(now.Add(-dpopProofWindow)):
		return nil, ErrInvalidDPoPProof.describe("the DPoP proof's iat is more than %d seconds from the server's time", int(dpopProofWindow/time.Second))
	case want.jkt != "" && p.JKT != want.jkt:
		return nil, ErrInvalidDPoPProof.describe("the DPoP proof is not signed with the key the access token is bound to")
	}
	if want.token != "" {
		sum := sha256.Sum256([]byte(want.token))
		if p.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, ErrInvalidDPoPProof.describe("the DPoP proof's ath is not the hash of the access token")
		}
	}
	if want.nonce {
		if err := s.checkDPoPNonce(ctx, p.Nonce); err != nil {
			return nil, err
		}
	}
	fresh, err := s.state.PutIfAbsent(ctx, "dpopjti:"+hashKey(p.JKT+"\x00"+p.JTI), []byte{1}, 2*dpopProofWindow+clockSkew)
	if err != nil {
		return nil, ErrServerError.describe("internal error")
	}
	if !fresh {
		return nil, ErrInvalidDPoPProof.describe("the DPoP proof's jti was already used")
	}
	return p, nil
}

// sameHTU compares a proof's htu with the request's URL, both without query
// and fragment, after the syntax-based normalisation of RFC 3986 §6.2.2
// and the scheme-based one of §6.2.3 (RFC 9449 §4.3 step 9).
func sameHTU(got, want string) bool {
	g, err1 := url.Parse(got)
	w, err2 := url.Parse(want)
	if err1 != nil || err2 != nil || !g.IsAbs() {
		return false
	}
	norm := func(u *url.URL) string {
		scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname())
		port := u.Port()
		if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
			port = ""
		}
		if port != "" {
			host += ":" + port
		}
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		return scheme + "://" + host + path
	}
	return norm(g) == norm(w)
}

// dpopNonces makes the server's DPoP nonces: an HMAC of the rotation period
// under a secret kept in the state store, so that gateways sharing the
// store issue and accept the same nonces without a write per request.
type dpopNonces struct {
	mu     sync.Mutex
	secret []byte
}

const dpopNonceSecretKey = "dpop-nonce-secret"

func (s *Server) nonceSecret(ctx context.Context) ([]byte, error) {
	n := s.nonces
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.secret != nil {
		return n.secret, nil
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.state.PutIfAbsent(ctx, dpopNonceSecretKey, fresh, MaxPolicyTTL); err != nil {
		return nil, err
	}
	secret, err := s.state.Get(ctx, dpopNonceSecretKey)
	if err != nil {
		return nil, err
	}
	n.secret = secret
	return secret, nil
}

// dpopNonceAt is the nonce of the rotation period that holds t.
func dpopNonceAt(secret []byte, t time.Time) string {
	var period [8]byte
	binary.BigEndian.PutUint64(period[:], uint64(t.Unix()/int64(dpopNonceRotation/time.Second)))
	m := hmac.New(sha256.New, secret)
	m.Write(period[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// DPoPNonce returns the server's current DPoP nonce.
func (s *Server) DPoPNonce(ctx context.Context) (string, error) {
	secret, err := s.nonceSecret(ctx)
	if err != nil {
		return "", err
	}
	return dpopNonceAt(secret, s.now()), nil
}

// checkDPoPNonce accepts the current nonce and, for a grace period, the
// previous one.
func (s *Server) checkDPoPNonce(ctx context.Context, nonce string) error {
	secret, err := s.nonceSecret(ctx)
	if err != nil {
		return ErrServerError.describe("internal error")
	}
	now := s.now()
	current := dpopNonceAt(secret, now)
	if nonce != "" && (hmac.Equal([]byte(nonce), []byte(current)) ||
		hmac.Equal([]byte(nonce), []byte(dpopNonceAt(secret, now.Add(-dpopNonceRotation))))) {
		return nil
	}
	e := ErrUseDPoPNonce.describe("the DPoP proof must carry the server's nonce, given in the DPoP-Nonce header")
	if nonce != "" {
		e = ErrUseDPoPNonce.describe("the DPoP proof's nonce is stale; use the one in the DPoP-Nonce header")
	}
	e.DPoPNonce = current
	return e
}

// confirmation is an access token's cnf claim (RFC 7800, RFC 9449 §6.1).
type confirmation struct {
	JKT string `json:"jkt,omitempty"`
}

// jkt is the thumbprint the token is bound to; "" for none.
func (c *confirmation) jkt() string {
	if c == nil {
		return ""
	}
	return c.JKT
}
