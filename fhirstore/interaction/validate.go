package interaction

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
)

// ValidateRequest is [type]/$validate or [type]/[id]/$validate.
type ValidateRequest struct {
	Sandbox  fhirstore.Sandbox
	Type, ID string
	// Body is a resource, or a Parameters with a "resource" parameter (and
	// perhaps "mode").
	Body []byte
	// Mode is create, update, delete or "" (a mode parameter in Body wins).
	Mode string
	// Profiles are canonical URLs of StructureDefinitions the resource
	// must conform to besides its type and the profiles it declares (the
	// profile parameter; those of a Parameters body are added).
	Profiles []string
}

// Validate validates a resource as a write would, and writes nothing. The
// issues are the verdict, whether or not the resource is valid (one
// informational issue when it is); the error is a request the operation
// cannot run.
func (e *Engine) Validate(ctx context.Context, req *ValidateRequest) ([]outcome.Issue, error) {
	data, paramMode, paramProfiles, err := unwrapValidateParameters(req.Body, req.Type)
	if err != nil {
		return nil, err
	}
	profiles := append(append([]string(nil), req.Profiles...), paramProfiles...)
	mode := req.Mode
	if paramMode != "" {
		mode = paramMode
	}
	switch mode {
	case "", "create", "update", "delete":
	default:
		return nil, outcome.New(outcome.Incorrect, outcome.Value, "mode %q is not create, update or delete", mode).At("mode")
	}
	if mode == "delete" {
		if req.ID == "" {
			return nil, outcome.New(outcome.Incorrect, outcome.Required, "mode=delete validates [type]/[id]/$validate")
		}
		if _, err := e.store.Read(ctx, req.Sandbox, req.Type, req.ID); err != nil {
			return nil, StoreError(err, req.Type, req.ID)
		}
		return valid(fmt.Sprintf("%s/%s may be deleted", req.Type, req.ID)), nil
	}
	res, err := fhirjson.Parse(data)
	if err == nil && res.Type != req.Type {
		err = outcome.New(outcome.Incorrect, outcome.Invalid,
			"resource type %s does not match %s in the URL", res.Type, req.Type).At("resourceType")
	}
	if err == nil && (mode == "update" || req.ID != "") {
		id := req.ID
		if id == "" {
			id = res.ID
		}
		err = checkUpdateID(req.Type, id, res)
	}
	if err != nil {
		oe := outcome.From(err)
		if oe.Category.Server() {
			return nil, err
		}
		return oe.Issues, nil
	}
	// The resource parses as R4: judge it against its definition and
	// profiles (cardinality, bindings, slicing, invariants).
	defs, err := e.definitions(ctx, req.Sandbox)
	if err != nil {
		return nil, err
	}
	issues := defs.Validate(data, profile.Options{Profiles: profiles})
	if profile.HasErrors(issues) {
		return profile.OutcomeIssues(issues), nil
	}
	verdict := fmt.Sprintf("%s is valid FHIR R4", req.Type)
	if len(profiles) > 0 {
		verdict += " and conforms to " + strings.Join(profiles, ", ")
	}
	return append(profile.OutcomeIssues(issues), valid(verdict)...), nil
}

func valid(diagnostics string) []outcome.Issue {
	return []outcome.Issue{{Severity: outcome.Information, Code: outcome.Informational, Diagnostics: diagnostics}}
}

// unwrapValidateParameters returns the resource of a Parameters body (and
// its mode), or the body itself when it is not a Parameters. At
// Parameters/$validate, a Parameters whose parameters are not all inputs
// of $validate (resource, mode, profile) is the resource to validate:
// the specification asks for it to be wrapped, but a Parameters of some
// other operation cannot be mistaken for $validate's own.
func unwrapValidateParameters(data []byte, typ string) ([]byte, string, []string, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name           string          `json:"name"`
			Resource       json.RawMessage `json:"resource"`
			ValueCode      string          `json:"valueCode"`
			ValueURI       string          `json:"valueUri"`
			ValueCanonical string          `json:"valueCanonical"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.ResourceType != "Parameters" {
		return data, "", nil, nil
	}
	if typ == "Parameters" {
		for _, p := range head.Parameter {
			switch strings.TrimSpace(p.Name) {
			case "resource", "mode", "profile":
			default:
				return data, "", nil, nil
			}
		}
	}
	var res json.RawMessage
	var mode string
	var profiles []string
	for _, p := range head.Parameter {
		switch strings.TrimSpace(p.Name) {
		case "resource":
			res = p.Resource
		case "mode":
			mode = p.ValueCode
		case "profile":
			if u := p.ValueCanonical + p.ValueURI; u != "" {
				profiles = append(profiles, u)
			}
		}
	}
	if res == nil && mode != "delete" {
		return nil, "", nil, outcome.New(outcome.Incorrect, outcome.Required,
			"a Parameters body of $validate needs a parameter named resource").At("Parameters.parameter")
	}
	return res, mode, profiles, nil
}
