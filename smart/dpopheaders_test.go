package smart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"hpsandbox/connectors/helseid/client"
)

var b64 = base64.RawURLEncoding

// signES256 signs header.payload as given, as a compact JWS.
func signES256(t testing.TB, priv *ecdsa.PrivateKey, header, payload string) string {
	t.Helper()
	input := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig)
}

// jwkOf is the public JWK of priv.
func jwkOf(t testing.TB, priv *ecdsa.PrivateKey) string {
	t.Helper()
	jwk, err := json.Marshal(jose.JSONWebKey{Key: priv.Public()})
	if err != nil {
		t.Fatal(err)
	}
	return string(jwk)
}

// es256Header is the protected header of a proof signed with priv.
func es256Header(t testing.TB, priv *ecdsa.PrivateKey, extra string) string {
	t.Helper()
	return `{"alg":"ES256","jwk":` + jwkOf(t, priv) + `,"typ":"dpop+jwt"` + extra + `}`
}

// nonCanonical is another encoding of the same bytes as seg (other
// padding bits in its last character); "" when seg has none.
func nonCanonical(seg string) string {
	want, _ := b64.DecodeString(seg)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for _, c := range alphabet {
		v := seg[:len(seg)-1] + string(c)
		if got, err := b64.DecodeString(v); err == nil && v != seg && string(got) == string(want) {
			return v
		}
	}
	return ""
}

// sameParse asserts that proof parses the same with the headers in seen
// as with none: the same proof, or the same error.
func sameParse(t *testing.T, seen *dpopHeaders, proof string) (*dpopProof, error) {
	t.Helper()
	want, wantErr := parseDPoPProofWith(proof, nil)
	got, gotErr := parseDPoPProofWith(proof, seen)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("with remembered headers %+v, %v; without %+v, %v", got, gotErr, want, wantErr)
	}
	return got, gotErr
}

// segments splits a compact JWS.
func segments(proof string) (h, p, s string) {
	parts := strings.Split(proof, ".")
	return parts[0], parts[1], parts[2]
}

func TestDPoPHeaders_TamperedProofsAfterAGoodOne_RefusedAsWithoutThem(t *testing.T) {
	seen := &dpopHeaders{}
	k, other := newDPoPKey(t), newDPoPKey(t)
	now := time.Now()
	good := k.proof(t, now, "GET", "https://ex.org/r", "n", "tok", nil)
	if _, err := sameParse(t, seen, good); err != nil {
		t.Fatalf("a good proof: %v", err)
	}
	if _, _, ok := seen.verify(good); !ok {
		t.Fatal("the good proof's header is not remembered")
	}
	h, p, s := segments(good)
	otherProof := other.proof(t, now, "GET", "https://ex.org/r", "n", "tok", nil)
	oh, op, os := segments(otherProof)
	forged := b64.EncodeToString([]byte(`{"jti":"x","htm":"POST","htu":"https://ex.org/r","iat":` + fmt.Sprint(now.Unix()) + `}`))
	sig, _ := b64.DecodeString(s)
	flipped := append([]byte(nil), sig...)
	flipped[10] ^= 1
	rZero := append(make([]byte, 32), sig[32:]...)
	// a proof whose payload encoding has padding bits to spare
	var padded string
	for jti := "a"; padded == ""; jti += "a" {
		ph, pp, ps := segments(k.proof(t, now, "GET", "https://ex.org/r", "n", "tok", func(c map[string]any) { c["jti"] = jti }))
		if v := nonCanonical(pp); v != "" {
			padded = ph + "." + v + "." + ps
		}
	}

	for _, tt := range []struct {
		name, proof string
		accept      bool
	}{
		{"Good_Again", good, true},
		{"Good_OtherKey", otherProof, true},
		{"PayloadChanged", h + "." + forged + "." + s, false},
		{"SignatureFlipped", h + "." + p + "." + b64.EncodeToString(flipped), false},
		{"SignatureRZero", h + "." + p + "." + b64.EncodeToString(rZero), false},
		{"SignatureShort", h + "." + p + "." + b64.EncodeToString(sig[:63]), false},
		{"SignatureLong", h + "." + p + "." + b64.EncodeToString(append(sig, 0)), false},
		{"SignatureEmpty", h + "." + p + ".", false},
		{"OtherKeysSignatureUnderThisHeader", h + "." + op + "." + os, false},
		{"ThisSignatureUnderOtherHeader", oh + "." + p + "." + s, false},
		{"ResignedByOtherKeyUnderThisHeader", signES256(t, other.priv, es256Header(t, k.priv, ""), `{"jti":"x","htm":"GET","htu":"https://ex.org/r","iat":1}`), false},
		{"PayloadNotCanonical_AcceptedAsGoJOSEDoes", padded, true},
		{"PayloadPadded", h + "." + p + "=." + s, false},
		{"WhiteSpace", h + ".\n" + p + "." + s, true},
		{"FourSegments", good + ".x", false},
		{"TwoSegments", h + "." + p, false},
		{"HeaderOnly", h, false},
		{"EmptyPayload", signES256(t, k.priv, es256Header(t, k.priv, ""), ""), false},
		{"ClaimsWithoutJTI", signES256(t, k.priv, es256Header(t, k.priv, ""), `{"htm":"GET","htu":"https://ex.org/r","iat":1}`), false},
		{"ClaimsIATString", signES256(t, k.priv, es256Header(t, k.priv, ""), `{"jti":"x","htm":"GET","htu":"https://ex.org/r","iat":"1"}`), false},
		{"JSONSerialization", `{"protected":"` + h + `","payload":"` + p + `","signature":"` + s + `"}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sameParse(t, seen, tt.proof)
			if (err == nil) != tt.accept {
				t.Fatalf("accepted %v, want %v (%v)", err == nil, tt.accept, err)
			}
		})
	}
}

func TestDPoPHeaders_RemembersOnlyPlainECHeadersOfGoodProofs(t *testing.T) {
	k := newDPoPKey(t)
	claims := `{"jti":"x","htm":"GET","htu":"https://ex.org/r","iat":1700000000}`
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: rsaKey}, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	rsaProof, err := jwt.Signed(signer).Claims(map[string]any{"jti": "x", "htm": "GET", "htu": "https://ex.org/r", "iat": 1700000000}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	good := signES256(t, k.priv, es256Header(t, k.priv, ""), claims)
	h, p, s := segments(good)
	for _, tt := range []struct {
		name, proof    string
		accept, stored bool
	}{
		{"Good", good, true, true},
		{"GoodWithKid", signES256(t, k.priv, es256Header(t, k.priv, `,"kid":"k1"`), claims), true, true},
		{"ExtraHeader", signES256(t, k.priv, es256Header(t, k.priv, `,"x-extra":1`), claims), true, false},
		{"B64Header", signES256(t, k.priv, es256Header(t, k.priv, `,"b64":true`), claims), true, false},
		{"RSA", rsaProof, true, false},
		{"BadClaims", signES256(t, k.priv, es256Header(t, k.priv, `,"kid":"k2"`), `{"jti":"x"}`), false, false},
		{"BadSignature", h + "." + p + "." + s[:len(s)-2] + "AA", false, false},
		{"WhiteSpace", strings.Replace(signES256(t, k.priv, es256Header(t, k.priv, `,"kid":"k3"`), claims), ".", " .", 1), true, false},
		{"TypWrong", signES256(t, k.priv, `{"alg":"ES256","jwk":`+jwkOf(t, k.priv)+`,"typ":"jwt"}`, claims), false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := &dpopHeaders{}
			if _, err := sameParse(t, seen, tt.proof); (err == nil) != tt.accept {
				t.Fatalf("accepted %v, want %v (%v)", err == nil, tt.accept, err)
			}
			if got := len(seen.m) == 1; got != tt.stored {
				t.Fatalf("remembered %v, want %v", got, tt.stored)
			}
			if tt.stored {
				if _, _, ok := seen.verify(tt.proof); !ok {
					t.Fatal("a remembered header does not verify its proof again")
				}
			}
		})
	}
}

func TestDPoPHeaders_ProofsOfTheHelseIDClient_VerifyFirstAndRemembered(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(k, "k1")
	if err != nil {
		t.Fatal(err)
	}
	seen := &dpopHeaders{}
	for i := range 3 {
		proof, err := c.Proof("POST", "https://ex.org/fhir/Composition", "n", "tok", nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := sameParse(t, seen, proof)
		if err != nil || p.JKT != c.JKT() || p.HTM != "POST" || p.Nonce != "n" {
			t.Fatalf("proof %d: %+v, %v", i, p, err)
		}
		if _, _, ok := seen.verify(proof); !ok {
			t.Fatalf("proof %d: its header is not remembered", i)
		}
	}
}

func TestDPoPHeaders_Bounded(t *testing.T) {
	seen := &dpopHeaders{}
	now := time.Now()
	var last string
	for range dpopHeadersMax + 3 {
		last = newDPoPKey(t).proof(t, now, "GET", "https://ex.org/r", "", "", nil)
		if _, err := parseDPoPProofWith(last, seen); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen.m) != dpopHeadersMax {
		t.Fatalf("%d headers remembered, want at most %d", len(seen.m), dpopHeadersMax)
	}
	if _, _, ok := seen.verify(last); !ok {
		t.Fatal("the newest header was not kept")
	}
}

// FuzzDPoPProof_SameWithRememberedHeaders checks that any proof parses the
// same with the headers of good proofs remembered as without.
func FuzzDPoPProof_SameWithRememberedHeaders(f *testing.F) {
	k := newDPoPKey(f)
	now := time.Now()
	good := k.proof(f, now, "POST", "https://ex.org/token", "n", "", nil)
	seen := &dpopHeaders{}
	if _, err := parseDPoPProofWith(good, seen); err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(k.proof(f, now, "GET", "https://ex.org/r", "", "tok", nil))
	f.Add(k.proof(f, now, "GET", "https://ex.org/r", "", "tok", func(c map[string]any) { c["iat"] = "x" }))
	h, p, s := segments(good)
	f.Add(h + "." + p + "." + s[:len(s)-1] + "A")
	f.Add(h + ".e30." + s)
	f.Fuzz(func(t *testing.T, proof string) {
		want, wantErr := parseDPoPProofWith(proof, nil)
		got, gotErr := parseDPoPProofWith(proof, seen)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
			t.Fatalf("with remembered headers %+v, %v; without %+v, %v", got, gotErr, want, wantErr)
		}
	})
}

// BenchmarkParseDPoPProof is the verification of a fresh proof, its
// header never remembered (as every proof was before) or remembered.
func BenchmarkParseDPoPProof(b *testing.B) {
	k := newDPoPKey(b)
	now := time.Now()
	proofs := make([]string, 256)
	for i := range proofs {
		proofs[i] = k.proof(b, now, "POST", "https://ex.org/fhir/Composition", "nonce-123", "access-token", nil)
	}
	for _, bb := range []struct {
		name string
		seen *dpopHeaders
	}{{"HeaderNotRemembered", nil}, {"HeaderRemembered", &dpopHeaders{}}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := parseDPoPProofWith(proofs[i%len(proofs)], bb.seen); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
