package vkp

import (
	"slices"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fixtures"
)

// ScopePrefix starts every scope of the hub's API, as HelseID issues them:
// nhn:vkp/api/user/{resource}.{read|write|*}.
const ScopePrefix = "nhn:vkp/api/user/"

// ClaimVKPID is the token claim naming the sending system:
// "Supplier_System_Municipality".
const ClaimVKPID = "vkp-id"

// Authorize is the hub's access rule, as HelseID-protected VKP applies it:
// a caller without a token is let in (the sandbox is open); a token must
// be DPoP-bound and proven on this request (RFC 9449), carry a vkp-id of
// three parts whose last names the receiving municipality (its name,
// municipality number or organisation number), and grant
// nhn:vkp/api/user/{resource}.read or .write (or .*) for the resource.
func Authorize(c connectors.Caller, m fixtures.Municipality, resource string, write bool) error {
	if !c.Token {
		return nil
	}
	if c.Grant == nil || c.Grant.DPoPKey == "" || !c.DPoP {
		return outcome.New(outcome.Denied, outcome.Security,
			"the hub takes DPoP-bound access tokens only (HelseID, RFC 9449): send the token as 'Authorization: DPoP …' with a DPoP proof of its key")
	}
	id := c.Grant.Claims[ClaimVKPID]
	parts := strings.Split(id, "_")
	if len(parts) != 3 || slices.Contains(parts, "") {
		return outcome.New(outcome.Denied, outcome.Security,
			"the token has no vkp-id claim of the form Supplier_System_Municipality; the client's registration must add it")
	}
	if muni := parts[2]; !strings.EqualFold(muni, m.Name) && muni != m.Code && muni != m.OrgNumber {
		return outcome.New(outcome.Denied, outcome.Forbidden,
			"the token's vkp-id names municipality %q, not %s (%s, organisation number %s) that the request is for", clip(muni), m.Name, m.Code, m.OrgNumber)
	}
	action := "read"
	if write {
		action = "write"
	}
	for _, s := range c.Grant.Scope {
		res, act, ok := strings.Cut(strings.TrimPrefix(s, ScopePrefix), ".")
		if ok && strings.HasPrefix(s, ScopePrefix) && res == resource && (act == action || act == "*") {
			return nil
		}
	}
	return outcome.New(outcome.Denied, outcome.Forbidden, "the token does not grant %s%s.%s (or %s%s.*)", ScopePrefix, resource, action, ScopePrefix, resource)
}
