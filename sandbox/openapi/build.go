package openapi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Input is what the document is built from.
type Input struct {
	// Admin is the admin API's own OpenAPI document, served at AdminBase.
	Admin     []byte
	AdminBase string
	// Capability is the CapabilityStatement the FHIR API serves at
	// FHIRBase/metadata.
	Capability []byte
	FHIRBase   string
	// Auth lists the authorization server's endpoints as the gateway
	// mounts them: "METHOD /path".
	Auth []string
	// Version is the server's version.
	Version string
}

// Path is where the document is served.
const Path = "/openapi.json"

// object is a JSON object being built.
type object = map[string]any

// doc is the document being built.
type doc struct {
	paths      object
	schemas    object
	responses  object
	parameters object
	security   object
	tags       []object
}

// Build returns the document, as indented JSON.
func Build(in Input) ([]byte, error) {
	d := &doc{paths: object{}, schemas: object{}, responses: object{}, parameters: object{}, security: object{}}
	if err := d.addAdmin(in.Admin, in.AdminBase); err != nil {
		return nil, fmt.Errorf("the admin API's document: %w", err)
	}
	if err := d.addAuth(in.Auth); err != nil {
		return nil, err
	}
	if err := d.addFHIR(in.Capability, in.FHIRBase); err != nil {
		return nil, fmt.Errorf("the CapabilityStatement: %w", err)
	}
	d.paths[Path] = object{"get": object{
		"tags": []string{"server"}, "summary": "This document", "operationId": "getServerOpenAPI", "security": []object{{}},
		"responses": object{"200": object{"description": "The OpenAPI 3.1 document of the whole server",
			"content": object{"application/json": object{"schema": object{"type": "object"}}}}},
	}}
	d.paths["/healthz"] = object{"get": object{
		"tags": []string{"server"}, "summary": "Health check", "operationId": "getHealth", "security": []object{{}},
		"responses": object{"200": object{"description": "The server serves",
			"content": object{"application/json": object{"schema": object{"type": "object", "required": []string{"status"},
				"properties": object{"status": object{"const": "ok"}}}}}}},
	}}
	checks := object{"type": "object", "description": "Each dependency checked (the store; Redis when configured) and its result",
		"additionalProperties": object{"enum": []string{"ok", "failed"}}}
	d.paths["/readyz"] = object{"get": object{
		"tags": []string{"server"}, "summary": "Readiness: the server and the store and Redis it depends on answer", "operationId": "getReadiness",
		"security": []object{{}},
		"responses": object{
			"200": object{"description": "Ready",
				"content": object{"application/json": object{"schema": object{"type": "object", "required": []string{"status", "checks"},
					"properties": object{"status": object{"const": "ok"}, "checks": checks}}}}},
			"503": object{"description": "A dependency failed; its cause is in the server's log, not here",
				"content": object{"application/json": object{"schema": object{"type": "object", "required": []string{"status", "checks", "failed"},
					"properties": object{"status": object{"const": "unavailable"}, "checks": checks,
						"failed": object{"type": "array", "items": object{"type": "string"}}}}}}},
		},
	}}
	tags := append([]object{{"name": "server", "description": "The server itself"}}, d.tags...)
	out := object{
		"openapi": "3.1.0",
		"info": object{
			"title":   "HP Sandbox",
			"version": in.Version,
			"description": "The whole HP Sandbox server: the FHIR R4 API (generated from its CapabilityStatement; every path below " +
				in.FHIRBase + " is served the same below /sandboxes/{sandbox}/fhir), the SMART on FHIR authorization server, " +
				"and the admin API. The guides at /guides show them in use.",
		},
		"servers": []object{{"url": "/"}},
		"tags":    tags,
		"paths":   d.paths,
		"components": object{
			"schemas": d.schemas, "responses": d.responses, "parameters": d.parameters, "securitySchemes": d.security,
		},
	}
	return json.MarshalIndent(out, "", " ")
}

// put adds a component, refusing a name already taken.
func put(into object, name string, v any) error {
	if _, ok := into[name]; ok {
		return fmt.Errorf("component %q is defined twice", name)
	}
	into[name] = v
	return nil
}

// addAdmin copies the admin API's paths below base, with its components,
// and states its HTTP Basic security on each operation.
func (d *doc) addAdmin(raw []byte, base string) error {
	var a struct {
		Security   []object          `json:"security"`
		Tags       []object          `json:"tags"`
		Paths      map[string]object `json:"paths"`
		Components map[string]object `json:"components"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return err
	}
	for _, t := range a.Tags {
		t["name"] = "admin: " + fmt.Sprint(t["name"])
		d.tags = append(d.tags, t)
	}
	for p, item := range a.Paths {
		for m, op := range item {
			o, ok := op.(map[string]any)
			if !ok || !isMethod(m) {
				continue
			}
			if _, ok := o["security"]; !ok && a.Security != nil {
				o["security"] = a.Security
			}
			if tags, ok := o["tags"].([]any); ok {
				for i, t := range tags {
					tags[i] = "admin: " + fmt.Sprint(t)
				}
			} else {
				o["tags"] = []string{"admin: api"}
			}
		}
		d.paths[base+p] = item
	}
	for kind, into := range map[string]object{"schemas": d.schemas, "responses": d.responses, "parameters": d.parameters, "securitySchemes": d.security} {
		names := make([]string, 0, len(a.Components[kind]))
		for n := range a.Components[kind] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if err := put(into, n, a.Components[kind][n]); err != nil {
				return err
			}
		}
	}
	return nil
}

func isMethod(m string) bool {
	switch m {
	case "get", "put", "post", "delete", "patch", "head", "options", "trace":
		return true
	}
	return false
}

func ref(kind, name string) object { return object{"$ref": "#/components/" + kind + "/" + name} }

// pathParam is a required path parameter of type string.
func pathParam(name, desc string) object {
	return object{"name": name, "in": "path", "required": true, "description": desc, "schema": object{"type": "string"}}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// operationID makes an operationId from words: getPatientById.
// idPunctuation is what operationID leaves out of its words; a Replacer
// costs more to build than to use, and a document names thousands of
// operations.
var idPunctuation = strings.NewReplacer("$", "", "-", "", "_", "", "/", "")

func operationID(words ...string) string {
	var b strings.Builder
	for i, w := range words {
		w = idPunctuation.Replace(w)
		if w == "" {
			continue
		}
		if i == 0 {
			b.WriteString(strings.ToLower(w[:1]) + w[1:])
		} else {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
