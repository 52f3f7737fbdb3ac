package smart

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an OAuth 2.0 error: its RFC code (RFC 6749 §4.1.2.1 and §5.2,
// RFC 6750 §3.1), a human description and the HTTP status it is answered
// with. Compare with errors.Is against the Err… values, which match on code.
type Error struct {
	// Code is the RFC error code, e.g. "invalid_grant"; empty for a request
	// that carried no credentials at all (RFC 6750 §3.1).
	Code string
	// Description is the error_description sent to the client. It never
	// contains a token or secret.
	Description string
	// Status is the HTTP status the error is answered with.
	Status int
	// basicChallenge marks an invalid_client answer to a request that used
	// HTTP Basic authentication, which RFC 6749 §5.2 answers with a
	// WWW-Authenticate: Basic challenge.
	basicChallenge bool
	// jtiReplayed marks the refusal of a client assertion whose jti was
	// used before, a fact the evidence keeps.
	jtiReplayed bool
	// DPoPNonce, when set, is the server's current DPoP nonce, answered in
	// the DPoP-Nonce header (RFC 9449 §8 and §9).
	DPoPNonce string
	// dpopChallenge marks a resource server's refusal of a DPoP request,
	// which is challenged with the DPoP scheme (RFC 9449 §7.1).
	dpopChallenge bool
}

// The errors of RFC 6749, RFC 6750 and RFC 7009 the server answers with.
var (
	ErrInvalidRequest          = &Error{Code: "invalid_request", Status: http.StatusBadRequest}
	ErrInvalidClient           = &Error{Code: "invalid_client", Status: http.StatusUnauthorized}
	ErrInvalidGrant            = &Error{Code: "invalid_grant", Status: http.StatusBadRequest}
	ErrUnauthorizedClient      = &Error{Code: "unauthorized_client", Status: http.StatusBadRequest}
	ErrUnsupportedGrantType    = &Error{Code: "unsupported_grant_type", Status: http.StatusBadRequest}
	ErrUnsupportedResponseType = &Error{Code: "unsupported_response_type", Status: http.StatusBadRequest}
	ErrInvalidScope            = &Error{Code: "invalid_scope", Status: http.StatusBadRequest}
	ErrAccessDenied            = &Error{Code: "access_denied", Status: http.StatusForbidden}
	ErrServerError             = &Error{Code: "server_error", Status: http.StatusInternalServerError}
	ErrInvalidToken            = &Error{Code: "invalid_token", Status: http.StatusUnauthorized}
	ErrInsufficientScope       = &Error{Code: "insufficient_scope", Status: http.StatusForbidden}
	// ErrInvalidDPoPProof and ErrUseDPoPNonce are RFC 9449's: a DPoP proof
	// that is malformed or does not match the request, and one without the
	// server's current nonce (answered with the nonce in DPoP-Nonce). The
	// resource server answers both with 401 and a DPoP challenge.
	ErrInvalidDPoPProof = &Error{Code: "invalid_dpop_proof", Status: http.StatusBadRequest}
	ErrUseDPoPNonce     = &Error{Code: "use_dpop_nonce", Status: http.StatusBadRequest}
	// ErrMissingToken is a resource request without any bearer token; RFC
	// 6750 §3.1 answers it with 401 and a challenge without an error code.
	ErrMissingToken = &Error{Code: "", Status: http.StatusUnauthorized}
)

// Error implements error.
func (e *Error) Error() string {
	if e.Code == "" {
		return "smart: no bearer token"
	}
	if e.Description == "" {
		return "smart: " + e.Code
	}
	return "smart: " + e.Code + ": " + e.Description
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// describe returns a copy of e with a description.
func (e *Error) describe(format string, args ...any) *Error {
	c := *e
	c.Description = fmt.Sprintf(format, args...)
	return &c
}

// WWWAuthenticate is the value of the WWW-Authenticate header a resource
// server sends with this error (RFC 6750 §3), or with an invalid_client
// answer to HTTP Basic authentication (RFC 6749 §5.2); "" when none applies.
func (e *Error) WWWAuthenticate() string {
	if e.basicChallenge {
		return `Basic realm="hp-sandbox"`
	}
	if e.dpopChallenge {
		var b strings.Builder
		fmt.Fprintf(&b, `DPoP realm="hp-sandbox", algs=%q`, strings.Join(DPoPAlgs, " "))
		if e.Code != "" {
			fmt.Fprintf(&b, `, error=%q`, e.Code)
		}
		if e.Description != "" {
			fmt.Fprintf(&b, `, error_description=%q`, quoteSafe(e.Description))
		}
		return b.String()
	}
	switch e.Code {
	case "":
		return `Bearer realm="hp-sandbox"`
	case ErrInvalidToken.Code, ErrInvalidRequest.Code, ErrInsufficientScope.Code:
		var b strings.Builder
		fmt.Fprintf(&b, `Bearer realm="hp-sandbox", error=%q`, e.Code)
		if e.Description != "" {
			fmt.Fprintf(&b, `, error_description=%q`, quoteSafe(e.Description))
		}
		return b.String()
	}
	return ""
}

// quoteSafe drops the characters RFC 6750 §3 does not allow in an
// error_description (it must be %x20-21 / %x23-5B / %x5D-7E).
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return -1
		}
		return r
	}, s)
}

// asError turns any error into an *Error; unknown errors become
// server_error without leaking their text.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return ErrServerError.describe("internal error")
}

// writeJSONError answers err as RFC 6749 §5.2 JSON.
func writeJSONError(w http.ResponseWriter, err error) {
	e := asError(err)
	if h := e.WWWAuthenticate(); h != "" && (e.basicChallenge || e.Status == http.StatusUnauthorized) {
		w.Header().Set("WWW-Authenticate", h)
	}
	if e.DPoPNonce != "" {
		w.Header().Set("DPoP-Nonce", e.DPoPNonce)
	}
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	writeJSON(w, e.Status, body)
}

// writeJSON writes v as a no-store JSON response, as RFC 6749 §5.1 requires
// for anything carrying tokens.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeBody encodes v as a 200 response with headers already set.
func writeBody(w http.ResponseWriter, v any) {
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
