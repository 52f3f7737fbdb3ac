package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func newProofClient(t testing.TB) *Client {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(k, "k1")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// decodeSegment decodes one JSON segment of a compact JWS.
func decodeSegment(t *testing.T, seg string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProof_VerifiesWithGoJOSEAndMatchesItsJWT(t *testing.T) {
	c := newProofClient(t)
	for _, tt := range []struct {
		name, method, htu, nonce, token string
		edit                            func(map[string]any)
	}{
		{"TokenEndpoint", "POST", "https://ex.org/auth/token", "", "", nil},
		{"WithNonce", "POST", "https://ex.org/auth/token", "n-1", "", nil},
		{"WithNonceAndToken", "GET", "https://ex.org/fhir/Patient", "n-1", "tok", nil},
		{"EditedIAT", "GET", "https://ex.org/fhir/Patient", "", "tok", func(m map[string]any) { m["iat"] = "x" }},
		{"EditedRemovesJTI", "GET", "https://ex.org/fhir/Patient", "", "", func(m map[string]any) { delete(m, "jti") }},
		{"EscapedURL", "GET", "https://ex.org/fhir/a<b>&c\"d", "", "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var claims map[string]any
			proof, err := c.Proof(tt.method, tt.htu, tt.nonce, tt.token, func(m map[string]any) {
				if tt.edit != nil {
					tt.edit(m)
				}
				claims = m
			})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(proof, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			h := tok.Headers[0]
			if h.ExtraHeaders["typ"] != "dpop+jwt" || h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() {
				t.Fatalf("header %+v", h)
			}
			tp, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
			if err != nil || base64.RawURLEncoding.EncodeToString(tp) != c.JKT() {
				t.Fatalf("the jwk's thumbprint is not the client's JKT: %v", err)
			}
			var got map[string]any
			if err := tok.Claims(h.JSONWebKey.Key, &got); err != nil {
				t.Fatalf("the proof does not verify with its jwk: %v", err)
			}

			// go-jose's JWT of the same claims has the same header and claims.
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: c.dpop}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			ref, err := jwt.Signed(signer).Claims(claims).Serialize()
			if err != nil {
				t.Fatal(err)
			}
			ps, rs := strings.Split(proof, "."), strings.Split(ref, ".")
			if len(ps) != 3 || len(ps[2]) != len(rs[2]) {
				t.Fatalf("proof %q, go-jose's %q", proof, ref)
			}
			for i := range 2 {
				if g, w := decodeSegment(t, ps[i]), decodeSegment(t, rs[i]); !reflect.DeepEqual(g, w) {
					t.Errorf("segment %d: %v, go-jose's %v", i, g, w)
				}
			}
		})
	}
}

func TestProof_ZeroClientHasNoKey(t *testing.T) {
	if _, err := (&Client{}).Proof("GET", "https://ex.org/", "", "", nil); err == nil {
		t.Fatal("a client without a DPoP key signed a proof")
	}
}

func TestProof_UnmarshalableClaimIsAnError(t *testing.T) {
	c := newProofClient(t)
	if _, err := c.Proof("GET", "https://ex.org/", "", "", func(m map[string]any) { m["x"] = func() {} }); err == nil {
		t.Fatal("signed a claim that has no JSON")
	}
}

// BenchmarkProof is the signing of a request's proof, as the client does
// and as go-jose's signer and JWT builder do.
func BenchmarkProof(b *testing.B) {
	c := newProofClient(b)
	b.Run("Client", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Proof("POST", "https://ex.org/fhir/Composition", "nonce-123", "access-token", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GoJOSE", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			claims := map[string]any{"jti": rand.Text(), "htm": "POST", "htu": "https://ex.org/fhir/Composition", "iat": 1700000000,
				"nonce": "nonce-123", "ath": "ZHVtbXk"}
			if _, err := sign(jose.ES256, c.dpop, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"), claims); err != nil {
				b.Fatal(err)
			}
		}
	})
}
