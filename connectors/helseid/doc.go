// Package helseid holds the token rules of the national health-sector
// APIs that HelseID protects — the welfare-technology hub (VKP), the
// journaling service (JFT) and patient measurement data (PMD) — as those
// services apply them to a connector's caller: which scope a request
// needs ("nhn:vkp/api/user/{Resource}.{read|write|*}", "nhn:jft/api"),
// that the token is DPoP-bound and was presented with a verified proof,
// and the vkp-id claim.
//
// The tokens themselves are issued and verified by the sandbox's
// authorization server (package smart, its HelseID profile and RFC 9449
// DPoP); the gateway verifies the DPoP proof before a connector runs and
// says so in connectors.Caller.DPoP. This package only judges the Caller.
//
// Refusals are answered as these FHIR services answer them: an
// OperationOutcome, with 401 and a WWW-Authenticate challenge of the DPoP
// scheme (RFC 9449 §7.1) for a missing token or one that is not
// DPoP-bound (issue code "login"), and 403 with error="insufficient_scope"
// for a token without the scope (issue code "forbidden"). The token
// endpoint's own refusals stay RFC 6749 JSON.
//
// A sandbox that is open (not secured) admits callers without a token, as
// its FHIR API does; a token that is presented is always judged.
//
// Package helseid/client is the client side: it obtains DPoP-bound tokens
// with a private_key_jwt assertion and uses them (the VKP simulation's
// client). Package helseidtest builds on it for tests: it registers a
// HelseID-style client with a gateway.
package helseid
