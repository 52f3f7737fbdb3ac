package requestlog

import (
	"net/url"
	"strings"
)

// Redacted replaces the value of a query parameter that carries a
// credential. The name stays, so the log still shows that it was sent.
const Redacted = "REDACTED"

// secretParams name the query parameters whose values are credentials,
// compared ignoring case. A correct client sends none of them in a URL, but
// the log must stay clean when one does.
//
// Kept on purpose, because the conformance checks judge them and none is a
// credential: code_challenge (a hash, the evidence of PKCE), nonce, launch,
// scope, aud, client_id, redirect_uri. The authorization server records
// the length and entropy of state (OAuth.StateLen), so its value, which
// binds a browser to its session, is redacted like code.
var secretParams = []string{
	"access_token",     // RFC 6750 §2.3, the URI query form of a bearer token
	"refresh_token",    // RFC 6749 §6
	"id_token",         // OpenID Connect
	"token",            // RFC 7009 revocation, RFC 7662 introspection
	"subject_token",    // RFC 8693 token exchange
	"actor_token",      // RFC 8693 token exchange
	"client_secret",    // RFC 6749 §2.3.1
	"client_assertion", // RFC 7523 private_key_jwt
	"assertion",        // RFC 7523 JWT bearer grant
	"code_verifier",    // RFC 7636 PKCE
	"password",         // RFC 6749 §4.3
	"api_key",
	"apikey",
}

// RedactQuery returns rawQuery with the values of credential parameters
// replaced by Redacted (see secretParams). The authorization code ("code")
// and OAuth's state are credentials too, except on a FHIR interaction,
// where code is the search parameter of Observation, Condition, ValueSet/$expand and others
// and its value is evidence: a path is one when its last segment is a
// resource type (Observation) or an operation or _search after one
// (Observation/$lastn, ValueSet/123/$validate-code).
//
// A query with nothing to redact is returned as it is, without allocating.
// A parameter name that cannot be decoded has its value redacted, since
// what it names cannot be told.
func RedactQuery(path, rawQuery string) string {
	// The path is looked at only if a code parameter needs it, once.
	fhir := -1
	isFHIR := func() bool {
		if fhir < 0 {
			fhir = 0
			if fhirInteraction(path) {
				fhir = 1
			}
		}
		return fhir == 1
	}
	secret := false
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if redacts(pair, isFHIR) {
			secret = true
			break
		}
	}
	if !secret {
		return rawQuery
	}
	var b strings.Builder
	b.Grow(len(rawQuery))
	first := true
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if !first {
			b.WriteByte('&')
		}
		first = false
		if redacts(pair, isFHIR) {
			name, _, _ := strings.Cut(pair, "=")
			b.WriteString(name)
			b.WriteString("=" + Redacted)
			continue
		}
		b.WriteString(pair)
	}
	return b.String()
}

// redacts reports whether a name=value pair has a value to hide.
func redacts(pair string, fhir func() bool) bool {
	name, value, _ := strings.Cut(pair, "=")
	if value == "" || value == Redacted {
		return false
	}
	if strings.ContainsAny(name, "%+") {
		n, err := url.QueryUnescape(name)
		if err != nil {
			return true
		}
		name = n
	}
	if equalFoldASCII(name, "code") || equalFoldASCII(name, "state") {
		return !fhir()
	}
	for _, s := range secretParams {
		if equalFoldASCII(name, s) {
			return true
		}
	}
	return false
}

// equalFoldASCII reports whether name is lower, ignoring ASCII case.
// Servers match parameter names byte for byte, so Unicode folding (the
// Kelvin sign as k) would only redact names no server reads.
func equalFoldASCII(name, lower string) bool {
	if len(name) != len(lower) {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// fhirInteraction reports whether path addresses a FHIR resource type:
// resource types start with an upper-case letter, the authorization
// server's endpoints do not.
func fhirInteraction(path string) bool {
	path = strings.TrimSuffix(path, "/")
	// Only an operation or _search may follow the resource type (and, on
	// an instance, its id).
	for n := range 3 {
		i := strings.LastIndexByte(path, '/')
		seg := path[i+1:]
		switch {
		case seg != "" && seg[0] >= 'A' && seg[0] <= 'Z':
			return true
		case n == 0 && (seg == "" || seg[0] != '$' && seg[0] != '_'):
			return false
		case i < 0:
			return false
		}
		path = path[:i]
	}
	return false
}
