package interaction

import (
	"bytes"
	"context"
	"encoding/json"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/fhirstore/profile"
)

// Enforcement is what a sandbox requires of every resource written into
// it beyond valid FHIR R4. The zero value requires nothing.
type Enforcement struct {
	// Declared requires a resource to conform to the profiles its
	// meta.profile declares.
	Declared bool
	// Required are the canonical URLs of profiles every resource of a type
	// must conform to, by resource type.
	Required map[string][]string
}

// Off reports whether the enforcement requires nothing.
func (p Enforcement) Off() bool {
	if p.Declared {
		return false
	}
	for _, urls := range p.Required {
		if len(urls) > 0 {
			return false
		}
	}
	return true
}

// EnforcementFunc returns the enforcement of a sandbox. The engine asks it
// once per write or Bundle, so it should answer from memory.
type EnforcementFunc func(ctx context.Context, sandbox fhirstore.Sandbox) (Enforcement, error)

// conformance judges the resources written into one sandbox under its
// enforcement; a nil *conformance judges nothing.
type conformance struct {
	policy Enforcement
	defs   *profile.Definitions
}

// conformance returns the judge of writes into sandbox, nil when the
// sandbox enforces nothing.
func (e *Engine) conformance(ctx context.Context, sandbox fhirstore.Sandbox) (*conformance, error) {
	if e.cfg.Enforcement == nil {
		return nil, nil
	}
	policy, err := e.cfg.Enforcement(ctx, sandbox)
	if err != nil {
		return nil, outcome.New(outcome.Fault, outcome.Exception, "reading the sandbox's enforcement failed").Wrap(err)
	}
	if policy.Off() {
		return nil, nil
	}
	defs, err := e.definitions(ctx, sandbox)
	if err != nil {
		return nil, err
	}
	return &conformance{policy: policy, defs: defs}, nil
}

// check judges body, a resource of typ about to be written: when the
// sandbox requires profiles of it, a resource that does not conform fails
// as outcome.Unprocessable with the validator's issues (errors and the
// warnings beside them).
func (c *conformance) check(typ string, body []byte) error {
	if c == nil {
		return nil
	}
	profiles := c.policy.Required[typ]
	if c.policy.Declared {
		// Named as requested profiles, declared ones that the sandbox does
		// not know are errors, not the warnings $validate gives: a write
		// cannot be shown to conform to them.
		profiles = append(declaredProfiles(body), profiles...)
	}
	if len(profiles) == 0 {
		return nil
	}
	issues := c.defs.Validate(body, profile.Options{Profiles: profiles, IgnoreMetaProfile: true})
	if !profile.HasErrors(issues) {
		return nil
	}
	return &outcome.Error{Category: outcome.Unprocessable, Issues: profile.OutcomeIssues(issues)}
}

// declaredProfiles returns the profiles a resource's meta.profile names.
func declaredProfiles(body []byte) []string {
	if !bytes.Contains(body, []byte(`"profile"`)) {
		return nil
	}
	var head struct {
		Meta struct {
			Profile []string `json:"profile"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(body, &head)
	return head.Meta.Profile
}
