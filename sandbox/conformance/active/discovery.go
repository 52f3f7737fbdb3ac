package active

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/sandbox/conformance"
)

// Specification sections the discovery tests cite.
const (
	citeSMARTConfig = "https://hl7.org/fhir/smart-app-launch/conformance.html#metadata"
	citeCapability  = "https://hl7.org/fhir/R4/http.html#capabilities"
	citeSecurity    = "https://hl7.org/fhir/smart-app-launch/conformance.html#declaring-support-for-oauth2-endpoints"
)

// smartConfig is the part of .well-known/smart-configuration the suite
// reads (SMART App Launch 2.x).
type smartConfig struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	Capabilities                      []string `json:"capabilities"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
}

// capability is the part of a CapabilityStatement the suite reads: per
// resource type its interactions and search parameters.
type capability struct {
	Resources map[string]*capResource
	// Order is the types in the statement's order.
	Order    []string
	Security map[string]any
	// System are the system interactions (rest.interaction).
	System map[string]bool
}

type capResource struct {
	Interactions map[string]bool
	Search       []searchParam
	// Includes are the declared _include values (searchInclude).
	Includes []string
	// Versioning is the declared versioning ("no-version", "versioned",
	// "versioned-update"), "" when not declared.
	Versioning string
}

type searchParam struct{ Name, Type string }

// parseCapability reads a CapabilityStatement's server rest part.
func parseCapability(m map[string]any) *capability {
	c := &capability{Resources: map[string]*capResource{}, System: map[string]bool{}}
	for _, r := range list(m, "rest") {
		rest, _ := r.(map[string]any)
		if str(rest, "mode") != "server" {
			continue
		}
		c.Security = obj(rest, "security")
		for _, i := range list(rest, "interaction") {
			io, _ := i.(map[string]any)
			c.System[str(io, "code")] = true
		}
		for _, x := range list(rest, "resource") {
			res, _ := x.(map[string]any)
			typ := str(res, "type")
			if typ == "" || c.Resources[typ] != nil {
				continue
			}
			cr := &capResource{Interactions: map[string]bool{}, Versioning: str(res, "versioning")}
			for _, i := range list(res, "interaction") {
				io, _ := i.(map[string]any)
				cr.Interactions[str(io, "code")] = true
			}
			for _, p := range list(res, "searchParam") {
				po, _ := p.(map[string]any)
				if n := str(po, "name"); n != "" {
					cr.Search = append(cr.Search, searchParam{Name: n, Type: str(po, "type")})
				}
			}
			for _, inc := range list(res, "searchInclude") {
				if v, ok := inc.(string); ok && v != "" && v != "*" {
					cr.Includes = append(cr.Includes, v)
				}
			}
			c.Resources[typ] = cr
			c.Order = append(c.Order, typ)
		}
		break
	}
	return c
}

func discoveryTests() []Test {
	return []Test{
		{ID: "active.discovery-smart-configuration", Title: "Publishes a SMART configuration with the required fields",
			Cite: citeSMARTConfig, Severity: conformance.SeverityError, Run: testSMARTConfiguration},
		{ID: "active.discovery-capability-statement", Title: "Publishes a FHIR R4 CapabilityStatement at metadata",
			Cite: citeCapability, Severity: conformance.SeverityError, Run: testCapabilityStatement},
		{ID: "active.discovery-capability-security", Title: "The CapabilityStatement declares SMART-on-FHIR security consistent with the SMART configuration",
			Cite: citeSecurity, Severity: conformance.SeverityWarning, Needs: []Need{NeedSMART, NeedCapability}, Run: testCapabilitySecurity},
	}
}

func testSMARTConfiguration(ctx context.Context, s *Session) conformance.Result {
	r, err := s.send(ctx, request{Method: "GET", URL: ".well-known/smart-configuration", Accept: "application/json"})
	if err != nil {
		return fail("no answer: %v", err)
	}
	if r.Status != 200 {
		return fail("answered %d, not 200", r.Status)
	}
	var sc smartConfig
	if r.mediaType() != "application/json" {
		return fail("answered %q, not application/json", r.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(r.Body, &sc); err != nil {
		return fail("the document is not the JSON object SMART defines: %v", err)
	}
	var problems []string
	need := func(ok bool, format string, args ...any) {
		if !ok {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	absolute := func(name, u string) {
		p, err := url.Parse(u)
		need(err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "", "%s %q is not an absolute URL", name, u)
	}
	need(sc.TokenEndpoint != "", "token_endpoint is missing")
	if sc.TokenEndpoint != "" {
		absolute("token_endpoint", sc.TokenEndpoint)
	}
	need(len(sc.GrantTypesSupported) > 0, "grant_types_supported is missing")
	need(len(sc.Capabilities) > 0, "capabilities is missing")
	need(slices.Contains(sc.CodeChallengeMethodsSupported, "S256"), "code_challenge_methods_supported does not list S256")
	need(!slices.Contains(sc.CodeChallengeMethodsSupported, "plain"), "code_challenge_methods_supported lists plain, which SMART forbids")
	launches := slices.Contains(sc.Capabilities, "launch-ehr") || slices.Contains(sc.Capabilities, "launch-standalone")
	if launches || sc.AuthorizationEndpoint != "" {
		need(sc.AuthorizationEndpoint != "", "authorization_endpoint is missing although the capabilities name a launch")
		if sc.AuthorizationEndpoint != "" {
			absolute("authorization_endpoint", sc.AuthorizationEndpoint)
		}
	}
	if slices.Contains(sc.Capabilities, "sso-openid-connect") {
		need(sc.Issuer != "", "issuer is missing although the capabilities name sso-openid-connect")
		need(sc.JWKSURI != "", "jwks_uri is missing although the capabilities name sso-openid-connect")
	}
	if slices.Contains(sc.Capabilities, "client-confidential-asymmetric") {
		need(slices.Contains(sc.TokenEndpointAuthMethodsSupported, "private_key_jwt"),
			"capabilities name client-confidential-asymmetric but token_endpoint_auth_methods_supported does not list private_key_jwt")
	}
	s.smart = &sc
	if len(problems) > 0 {
		return fail("%s", strings.Join(problems, "; "))
	}
	return pass("token_endpoint, grant_types_supported, capabilities (%d) and code_challenge_methods_supported (S256) present", len(sc.Capabilities))
}

func testCapabilityStatement(ctx context.Context, s *Session) conformance.Result {
	r, err := s.send(ctx, request{Method: "GET", URL: "metadata"})
	if err != nil {
		return fail("no answer: %v", err)
	}
	if r.Status != 200 {
		return fail("answered %d, not 200 (metadata must be readable without a token)", r.Status)
	}
	m := r.object()
	if m == nil || str(m, "resourceType") != "CapabilityStatement" {
		return fail("the body is not a CapabilityStatement")
	}
	var problems []string
	if v := str(m, "fhirVersion"); !strings.HasPrefix(v, "4.0.") {
		problems = append(problems, fmt.Sprintf("fhirVersion is %q, not 4.0.x (R4)", v))
	}
	json := false
	for _, f := range list(m, "format") {
		if f == "json" || f == "application/fhir+json" {
			json = true
		}
	}
	if !json {
		problems = append(problems, "format lists neither json nor application/fhir+json")
	}
	if !r.isJSON() {
		problems = append(problems, fmt.Sprintf("answered %q, not application/fhir+json", r.Header.Get("Content-Type")))
	}
	c := parseCapability(m)
	if len(c.Resources) == 0 {
		problems = append(problems, "no rest part in mode server declares a resource")
	}
	if len(problems) > 0 {
		return fail("%s", strings.Join(problems, "; "))
	}
	s.caps = c
	return pass("FHIR %s, JSON, %d resource types declared", str(m, "fhirVersion"), len(c.Resources))
}

// oauthURIs is the SMART extension of CapabilityStatement.rest.security.
const oauthURIs = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

func testCapabilitySecurity(ctx context.Context, s *Session) conformance.Result {
	sec := s.caps.Security
	if sec == nil {
		return fail("rest.security is missing")
	}
	smartService := false
	for _, sv := range list(sec, "service") {
		svo, _ := sv.(map[string]any)
		for _, c := range list(svo, "coding") {
			co, _ := c.(map[string]any)
			if str(co, "code") == "SMART-on-FHIR" && str(co, "system") == "http://terminology.hl7.org/CodeSystem/restful-security-service" {
				smartService = true
			}
		}
	}
	if !smartService {
		return fail("rest.security.service has no SMART-on-FHIR coding of http://terminology.hl7.org/CodeSystem/restful-security-service")
	}
	for _, x := range list(sec, "extension") {
		xo, _ := x.(map[string]any)
		if str(xo, "url") != oauthURIs {
			continue
		}
		uris := map[string]string{}
		for _, sub := range list(xo, "extension") {
			so, _ := sub.(map[string]any)
			uris[str(so, "url")] = str(so, "valueUri")
		}
		var problems []string
		for name, want := range map[string]string{"token": s.smart.TokenEndpoint, "authorize": s.smart.AuthorizationEndpoint} {
			if got := uris[name]; got != "" && got != want {
				problems = append(problems, fmt.Sprintf("oauth-uris %s is %q, the smart-configuration says %q", name, got, want))
			}
		}
		if len(problems) > 0 {
			slices.Sort(problems)
			return fail("%s", strings.Join(problems, "; "))
		}
		return pass("SMART-on-FHIR service declared; the oauth-uris extension agrees with the smart-configuration")
	}
	return pass("SMART-on-FHIR service declared (no oauth-uris extension, which SMART 2.x leaves optional)")
}
