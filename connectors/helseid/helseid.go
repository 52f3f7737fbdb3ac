package helseid

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/smart"
)

// JFTScope is the scope of the journaling service's API.
const JFTScope = "nhn:jft/api"

// VKPIDClaim is the claim naming a welfare-technology hub client:
// Supplier_System_Municipality.
const VKPIDClaim = "vkp-id"

// Access is what a VKP scope grants on its resource type.
type Access string

// The VKP accesses.
const (
	Read  Access = "read"
	Write Access = "write"
)

// VKPScope is the scope that grants access to resource, e.g.
// nhn:vkp/api/user/Observation.write.
func VKPScope(resource string, a Access) string {
	return "nhn:vkp/api/user/" + resource + "." + string(a)
}

var vkpScopePattern = regexp.MustCompile(`^nhn:vkp/api/user/(\*|[A-Z][A-Za-z]{0,63})\.(read|write|\*)$`)

// Refusal is a refused request: the OperationOutcome to answer and the
// WWW-Authenticate challenge, if any.
type Refusal struct {
	*outcome.Error
	Challenge string
}

// Write answers the refusal.
func (r *Refusal) Write(w http.ResponseWriter) {
	if r.Challenge != "" {
		w.Header().Set("WWW-Authenticate", r.Challenge)
	}
	connectors.WriteOutcome(w, r.Error)
}

func challenge(code, description string) string {
	s := fmt.Sprintf(`DPoP realm="hp-sandbox", algs=%q`, strings.Join(smart.DPoPAlgs, " "))
	if code != "" {
		s += fmt.Sprintf(", error=%q, error_description=%q", code, description)
	}
	return s
}

func unauthenticated(description string) *Refusal {
	return &Refusal{Error: outcome.New(outcome.Unauthenticated, outcome.Login, "%s", description),
		Challenge: challenge("invalid_token", description)}
}

// RequireDPoP refuses a caller whose token is not DPoP-bound or came
// without a verified proof. A caller without a token (an open sandbox)
// passes.
func RequireDPoP(c connectors.Caller) *Refusal {
	switch {
	case !c.Token:
		return nil
	case c.Grant == nil || c.Grant.DPoPKey == "":
		return unauthenticated("this API takes DPoP-bound HelseID tokens only (RFC 9449): get the token with a DPoP proof and send it as Authorization: DPoP")
	case !c.DPoP:
		return unauthenticated("the DPoP-bound token came without a verified DPoP proof")
	}
	return nil
}

// Require refuses a caller without a DPoP-bound token that grants scope
// exactly (JFTScope). A caller without a token (an open sandbox) passes.
func Require(c connectors.Caller, scope string) *Refusal {
	if r := RequireDPoP(c); r != nil || !c.Token {
		return r
	}
	if slices.Contains(c.Grant.Scope, scope) {
		return nil
	}
	return insufficient(fmt.Sprintf("the token does not grant %s", scope))
}

// RequireVKP refuses a caller without a DPoP-bound token whose VKP scopes
// grant a on resource: nhn:vkp/api/user/{resource|*}.{a|*}. A caller
// without a token (an open sandbox) passes.
func RequireVKP(c connectors.Caller, resource string, a Access) *Refusal {
	if r := RequireDPoP(c); r != nil || !c.Token {
		return r
	}
	for _, sc := range c.Grant.Scope {
		m := vkpScopePattern.FindStringSubmatch(sc)
		if m != nil && (m[1] == "*" || m[1] == resource) && (m[2] == "*" || m[2] == string(a)) {
			return nil
		}
	}
	return insufficient(fmt.Sprintf("the token does not grant %s of %s: it needs %s", a, resource, VKPScope(resource, a)))
}

// VKPID returns the caller's vkp-id claim; "" without one.
func VKPID(c connectors.Caller) string {
	if c.Grant == nil {
		return ""
	}
	return c.Grant.Claims[VKPIDClaim]
}

func insufficient(description string) *Refusal {
	return &Refusal{Error: outcome.New(outcome.Denied, outcome.Forbidden, "%s", description),
		Challenge: challenge("insufficient_scope", description)}
}
