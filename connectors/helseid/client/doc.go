// Package client is a HelseID-style client: it gets DPoP-bound access
// tokens with client_credentials and a private_key_jwt client assertion
// (RS384 with an RSA key of 2048 bits or more, ES256 or ES384 with an ECDSA
// key; typ client-authentication+jwt, a single-use jti, a short life), and
// a DPoP proof (RFC 9449) signed with a P-256 key made for the client
// (ES256, typ dpop+jwt, the public key in its jwk header). It keeps the
// last DPoP-Nonce any answer gave (RFC 9449 §8.2), answers one
// use_dpop_nonce challenge of the token endpoint with a new assertion and
// proof, and sends requests with Authorization: DPoP and a fresh proof of
// their method, URL (without query and fragment) and token (ath).
//
// Token and Do are the parts a test drives step by step; AccessToken and
// Authorize keep a token for Scope and renew it when it nears its end, as
// the VKP simulation (package vkp/sim) does. Registering a client is left
// to the caller (helseidtest registers one with a gateway). Keys live in
// memory only.
package client
