package openapi

import (
	"fmt"
	"strings"
)

// authOp describes one endpoint of the authorization server.
type authOp struct {
	summary, id string
	form        object // properties of an application/x-www-form-urlencoded body
	required    []string
	query       []string // query parameters of a GET
	answers     object
}

func oauthError(desc string) object {
	return object{"description": desc, "content": object{"application/json": object{"schema": ref("schemas", "oauth.Error")}}}
}

func jsonAnswer(desc, schema string) object {
	return object{"description": desc, "content": object{"application/json": object{"schema": ref("schemas", schema)}}}
}

func htmlPage(desc string) object {
	return object{"description": desc, "content": object{"text/html": object{"schema": object{"type": "string"}}}}
}

var redirect = object{"description": "The browser is sent on (to the next page, or to the redirect URI with code and state, or error and state)",
	"headers": object{"Location": object{"required": true, "schema": object{"type": "string"}}}}

func str(desc string) object { return object{"type": "string", "description": desc} }

// authOps are the endpoints by method and the end of their path.
var authOps = map[string]authOp{
	"GET /.well-known/smart-configuration": {summary: "SMART discovery (SMART App Launch 2.x)", id: "getSmartConfiguration",
		answers: object{"200": jsonAnswer("The SMART configuration", "oauth.SmartConfiguration")}},
	"GET /.well-known/openid-configuration": {summary: "OpenID Connect discovery", id: "getOpenIDConfiguration",
		answers: object{"200": jsonAnswer("The OpenID provider metadata", "oauth.OpenIDConfiguration")}},
	"GET /auth/jwks": {summary: "The keys that sign id_tokens and access tokens (JWK Set)", id: "getJWKS",
		answers: object{"200": object{"description": "A JWK Set (RFC 7517)", "content": object{"application/jwk-set+json": object{"schema": ref("schemas", "oauth.JWKS")}}}}},
	"GET /auth/authorize": {summary: "Authorization request (RFC 6749 §4.1.1, PKCE S256 required)", id: "authorize",
		query:   []string{"response_type", "client_id", "redirect_uri", "scope", "state", "aud", "code_challenge", "code_challenge_method", "launch", "nonce"},
		answers: object{"302": redirect, "400": htmlPage("An error that cannot go back to the client (unknown client, unregistered redirect URI)")}},
	"POST /auth/authorize": {summary: "Authorization request as a form post", id: "authorizePost",
		form:    object{"response_type": str(""), "client_id": str(""), "redirect_uri": str(""), "scope": str(""), "state": str(""), "aud": str(""), "code_challenge": str(""), "code_challenge_method": str(""), "launch": str(""), "nonce": str("")},
		answers: object{"302": redirect, "400": htmlPage("An error that cannot go back to the client")}},
	"GET /auth/login":             {summary: "The simulated login page", id: "loginPage", query: []string{"session"}, answers: object{"200": htmlPage("The page"), "400": htmlPage("No such session")}},
	"POST /auth/login":            {summary: "Sign in as a practitioner or patient of the sandbox", id: "login", form: object{"session": str(""), "user": str("Practitioner/… or Patient/…")}, answers: object{"302": redirect, "400": htmlPage("Refused")}},
	"GET /auth/select-patient":    {summary: "The patient picker", id: "selectPatientPage", query: []string{"session"}, answers: object{"200": htmlPage("The page"), "400": htmlPage("No such session")}},
	"POST /auth/select-patient":   {summary: "Pick the patient in context", id: "selectPatient", form: object{"session": str(""), "patient": str("")}, answers: object{"302": redirect, "400": htmlPage("Refused")}},
	"GET /auth/select-encounter":  {summary: "The encounter picker", id: "selectEncounterPage", query: []string{"session"}, answers: object{"200": htmlPage("The page"), "400": htmlPage("No such session")}},
	"POST /auth/select-encounter": {summary: "Pick the encounter in context", id: "selectEncounter", form: object{"session": str(""), "encounter": str("")}, answers: object{"302": redirect, "400": htmlPage("Refused")}},
	"GET /auth/consent":           {summary: "The consent page", id: "consentPage", query: []string{"session"}, answers: object{"200": htmlPage("The page"), "400": htmlPage("No such session")}},
	"POST /auth/consent":          {summary: "Allow or deny the scopes asked for", id: "consent", form: object{"session": str(""), "decision": object{"enum": []string{"allow", "deny"}}}, answers: object{"302": redirect, "400": htmlPage("Refused")}},
	"POST /auth/token": {summary: "Token request: authorization_code (PKCE), refresh_token, client_credentials with a signed assertion (RFC 6749, RFC 7523)", id: "token",
		form: object{"grant_type": object{"enum": []string{"authorization_code", "refresh_token", "client_credentials"}}, "code": str(""), "redirect_uri": str(""),
			"code_verifier": str(""), "client_id": str(""), "client_secret": str(""), "refresh_token": str(""), "scope": str(""),
			"client_assertion_type": str("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), "client_assertion": str("a JWT signed ES384 or RS384")},
		required: []string{"grant_type"},
		answers: object{"200": jsonAnswer("The tokens", "oauth.Token"), "400": oauthError("invalid_request, invalid_grant, invalid_scope, unsupported_grant_type (RFC 6749 §5.2)"),
			"401": oauthError("invalid_client"), "429": oauthError("Too many requests")}},
	"POST /auth/introspect": {summary: "Token introspection (RFC 7662)", id: "introspect", form: object{"token": str(""), "client_id": str("")}, required: []string{"token"},
		answers: object{"200": jsonAnswer("Whether the token is active, and its claims", "oauth.Introspection"), "400": oauthError("Malformed"), "401": oauthError("invalid_client")}},
	"POST /auth/revoke": {summary: "Token revocation (RFC 7009)", id: "revoke", form: object{"token": str(""), "token_type_hint": str(""), "client_id": str("")}, required: []string{"token"},
		answers: object{"200": object{"description": "Revoked, or nothing to revoke"}, "400": oauthError("Malformed"), "401": oauthError("invalid_client")}},
	"POST /auth/register": {summary: "Dynamic client registration (RFC 7591), with an initial access token or within the sandbox's registration_scopes", id: "register",
		answers: object{"201": jsonAnswer("The registered client", "oauth.ClientInformation"), "400": oauthError("invalid_client_metadata, invalid_redirect_uri"),
			"401": oauthError("invalid_token: an initial access token that is unknown, expired, revoked or used up"), "403": oauthError("access_denied: registration is off")}},
	"GET /auth/ehr-launch": {summary: "Launch an app as an EHR does from a patient's chart: sends the browser to the app's launch URL with iss and launch", id: "ehrLaunch",
		query:   []string{"client_id", "patient", "encounter", "user", "intent", "need_patient_banner", "launch_url"},
		answers: object{"302": redirect, "400": oauthError("Unknown client, patient or user, or a launch URL off the loopback"), "404": oauthError("Unknown client")}},
}

// addAuth adds the authorization server's endpoints; an endpoint without
// a description here is an error, so that none goes undocumented.
func (d *doc) addAuth(routes []string) error {
	d.tags = append(d.tags, object{"name": "authorization server", "description": "SMART App Launch 2.x, OAuth 2.0 and OpenID Connect"})
	for _, s := range []struct {
		name string
		v    object
	}{
		{"oauth.Error", object{"type": "object", "required": []string{"error"}, "properties": object{"error": str("RFC 6749 error code"), "error_description": str("")}}},
		{"oauth.Token", object{"type": "object", "required": []string{"access_token", "token_type"}, "properties": object{
			"access_token": str(""), "token_type": str("Bearer or DPoP"), "expires_in": object{"type": "integer"}, "scope": str(""),
			"refresh_token": str(""), "id_token": str(""), "patient": str(""), "encounter": str(""), "need_patient_banner": object{"type": "boolean"}}}},
		{"oauth.SmartConfiguration", object{"type": "object", "required": []string{"issuer", "authorization_endpoint", "token_endpoint", "capabilities"},
			"properties": object{"issuer": str(""), "authorization_endpoint": str(""), "token_endpoint": str(""), "jwks_uri": str(""),
				"capabilities": object{"type": "array", "items": object{"type": "string"}}}}},
		{"oauth.OpenIDConfiguration", object{"type": "object", "required": []string{"issuer", "jwks_uri"}, "properties": object{"issuer": str(""), "jwks_uri": str("")}}},
		{"oauth.JWKS", object{"type": "object", "required": []string{"keys"}, "properties": object{"keys": object{"type": "array", "items": object{"type": "object"}}}}},
		{"oauth.Introspection", object{"type": "object", "required": []string{"active"}, "properties": object{"active": object{"type": "boolean"}}}},
		{"oauth.ClientInformation", object{"type": "object", "required": []string{"client_id"}, "properties": object{"client_id": str("")}}},
	} {
		if err := put(d.schemas, s.name, s.v); err != nil {
			return err
		}
	}
	for _, r := range routes {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			return fmt.Errorf("route %q: want METHOD /path", r)
		}
		var op *authOp
		for k, v := range authOps {
			km, kp, _ := strings.Cut(k, " ")
			if km == method && strings.HasSuffix(path, kp) {
				op = &v
				break
			}
		}
		if op == nil {
			return fmt.Errorf("the authorization server's %s has no description in the OpenAPI document", r)
		}
		o := object{"tags": []string{"authorization server"}, "summary": op.summary, "operationId": operationID("auth", op.id), "responses": op.answers, "security": []object{{}}}
		for _, q := range op.query {
			o["parameters"] = append(asSlice(o["parameters"]), object{"name": q, "in": "query", "schema": object{"type": "string"}})
		}
		if op.form != nil {
			schema := object{"type": "object", "properties": op.form}
			if op.required != nil {
				schema["required"] = op.required
			}
			o["requestBody"] = object{"required": true, "content": object{"application/x-www-form-urlencoded": object{"schema": schema}}}
		}
		if op.id == "register" {
			o["requestBody"] = object{"required": true, "content": object{"application/json": object{"schema": object{"type": "object",
				"description": "RFC 7591 client metadata: client_name, redirect_uris, grant_types, token_endpoint_auth_method, scope, jwks or jwks_uri"}}}}
			o["security"] = []object{{}, {"initialAccessToken": []string{}}}
			d.security["initialAccessToken"] = object{"type": "http", "scheme": "bearer", "description": "An initial access token of the sandbox (hpsiat_…), RFC 7591 §3"}
		}
		item, _ := d.paths[path].(object)
		if item == nil {
			item = object{}
			d.paths[path] = item
		}
		item[strings.ToLower(method)] = o
	}
	return nil
}

func asSlice(v any) []object {
	s, _ := v.([]object)
	return s
}
