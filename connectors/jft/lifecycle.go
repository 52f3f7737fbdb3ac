package jft

import (
	"encoding/json"
	"fmt"
	"time"

	"hpsandbox/fhirstore/outcome"
)

// TagSystem is the system of the meta.tag that says where a submission
// is in its life; its codes are the State values.
const TagSystem = "https://hp-sandbox.no/fhir/CodeSystem/jft-status"

// LifecycleExtension is the meta.extension holding a submission's
// timestamps (sub-extensions registered, read, journaled, failed, as
// valueInstant) and the reason an EHR gave for a failure (reason,
// valueString).
const LifecycleExtension = "https://hp-sandbox.no/fhir/StructureDefinition/jft-lifecycle"

// State is where a submission is: registered when taken, read when the EHR
// side has read it, and journaled or failed when the EHR acknowledged it.
type State string

// The states of a submission.
const (
	Registered State = "registered"
	Read       State = "read"
	Journaled  State = "journaled"
	Failed     State = "failed"
)

var states = []State{Registered, Read, Journaled, Failed}

// Lifecycle is a submission's state and the times it reached each.
type Lifecycle struct {
	State                               State
	Registered, Read, Journaled, Failed time.Time
	Reason                              string
}

type coding struct {
	System string `json:"system,omitempty"`
	Code   string `json:"code,omitempty"`
}

type extension struct {
	URL          string      `json:"url"`
	ValueInstant string      `json:"valueInstant,omitempty"`
	ValueString  string      `json:"valueString,omitempty"`
	Extension    []extension `json:"extension,omitempty"`
}

// lifecycleOf reads the lifecycle kept in a stored resource's meta; ok is
// false for a resource that is no submission.
func lifecycleOf(body []byte) (Lifecycle, bool) {
	// Element by element, so that one malformed tag or extension (which
	// the engine would not have stored) does not hide the others.
	var r struct {
		Meta struct {
			Tag       []json.RawMessage `json:"tag"`
			Extension []json.RawMessage `json:"extension"`
		} `json:"meta"`
	}
	var l Lifecycle
	if json.Unmarshal(body, &r) != nil {
		return l, false
	}
	for _, raw := range r.Meta.Tag {
		var t coding
		if json.Unmarshal(raw, &t) == nil && t.System == TagSystem {
			l.State = State(t.Code)
		}
	}
	for _, raw := range r.Meta.Extension {
		var e extension
		if json.Unmarshal(raw, &e) != nil || e.URL != LifecycleExtension {
			continue
		}
		for _, sub := range e.Extension {
			at, _ := time.Parse(time.RFC3339Nano, sub.ValueInstant)
			switch sub.URL {
			case "registered":
				l.Registered = at
			case "read":
				l.Read = at
			case "journaled":
				l.Journaled = at
			case "failed":
				l.Failed = at
			case "reason":
				l.Reason = sub.ValueString
			}
		}
	}
	return l, l.State != "" && !l.Registered.IsZero()
}

// withLifecycle returns body with its meta saying l, and without any tag of
// TagSystem or lifecycle extension it carried: a sender cannot mark its
// own submission journaled.
func withLifecycle(body []byte, l Lifecycle) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, outcome.New(outcome.Incorrect, outcome.Structure, "the body is not a JSON object")
	}
	var meta map[string]json.RawMessage
	if raw, ok := top["meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, outcome.New(outcome.Incorrect, outcome.Structure, "meta is not a JSON object").At("meta")
		}
	}
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	var tags []json.RawMessage
	if raw, ok := meta["tag"]; ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, outcome.New(outcome.Incorrect, outcome.Structure, "meta.tag is not an array").At("meta.tag")
		}
	}
	kept := tags[:0]
	for _, t := range tags {
		var c coding
		if json.Unmarshal(t, &c) == nil && c.System == TagSystem {
			continue
		}
		kept = append(kept, t)
	}
	tag, _ := json.Marshal(coding{System: TagSystem, Code: string(l.State)})
	kept = append(kept, tag)
	var exts []json.RawMessage
	if raw, ok := meta["extension"]; ok {
		if err := json.Unmarshal(raw, &exts); err != nil {
			return nil, outcome.New(outcome.Incorrect, outcome.Structure, "meta.extension is not an array").At("meta.extension")
		}
	}
	keptExt := exts[:0]
	for _, e := range exts {
		var x extension
		if json.Unmarshal(e, &x) == nil && x.URL == LifecycleExtension {
			continue
		}
		keptExt = append(keptExt, e)
	}
	ext, _ := json.Marshal(l.extension())
	keptExt = append(keptExt, ext)
	meta["tag"], _ = json.Marshal(kept)
	meta["extension"], _ = json.Marshal(keptExt)
	top["meta"], _ = json.Marshal(meta)
	return json.Marshal(top)
}

func (l Lifecycle) extension() extension {
	e := extension{URL: LifecycleExtension}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"registered", l.Registered}, {"read", l.Read}, {"journaled", l.Journaled}, {"failed", l.Failed}} {
		if !t.at.IsZero() {
			e.Extension = append(e.Extension, extension{URL: t.name, ValueInstant: instant(t.at)})
		}
	}
	if l.Reason != "" {
		e.Extension = append(e.Extension, extension{URL: "reason", ValueString: l.Reason})
	}
	return e
}

// instant is t as a FHIR instant, in UTC with milliseconds.
func instant(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// statusParameters is the answer of $status: a Parameters resource with
// the state and the time of each step reached.
func statusParameters(id string, l Lifecycle) []byte {
	type param struct {
		Name         string `json:"name"`
		ValueID      string `json:"valueId,omitempty"`
		ValueCode    string `json:"valueCode,omitempty"`
		ValueInstant string `json:"valueInstant,omitempty"`
		ValueString  string `json:"valueString,omitempty"`
	}
	ps := []param{{Name: "id", ValueID: id}, {Name: "status", ValueCode: string(l.State)}}
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"registered", l.Registered}, {"read", l.Read}, {"journaled", l.Journaled}, {"failed", l.Failed}} {
		if !t.at.IsZero() {
			ps = append(ps, param{Name: t.name, ValueInstant: instant(t.at)})
		}
	}
	if l.Reason != "" {
		ps = append(ps, param{Name: "reason", ValueString: l.Reason})
	}
	b, _ := json.Marshal(struct {
		ResourceType string  `json:"resourceType"`
		Parameter    []param `json:"parameter"`
	}{"Parameters", ps})
	return b
}

// acknowledgement is what an EHR says with $journaling-acknowledged: a
// Parameters resource with outcome (journaled, the default, or failed) and
// for a failure an optional reason; an empty body means journaled.
func acknowledgement(body []byte) (State, string, error) {
	if len(body) == 0 {
		return Journaled, "", nil
	}
	var p struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name        string  `json:"name"`
			ValueCode   *string `json:"valueCode"`
			ValueString *string `json:"valueString"`
		} `json:"parameter"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ResourceType != "Parameters" {
		return "", "", outcome.New(outcome.Incorrect, outcome.Structure,
			"the acknowledgement is a Parameters resource with outcome (valueCode journaled or failed) and optionally reason (valueString), or an empty body")
	}
	state, reason := Journaled, ""
	for i, prm := range p.Parameter {
		switch {
		case prm.Name == "outcome" && prm.ValueCode != nil && (*prm.ValueCode == string(Journaled) || *prm.ValueCode == string(Failed)):
			state = State(*prm.ValueCode)
		case prm.Name == "reason" && prm.ValueString != nil && len(*prm.ValueString) <= 1000:
			reason = *prm.ValueString
		default:
			return "", "", outcome.New(outcome.Incorrect, outcome.Value,
				"parameter %q: want outcome (valueCode journaled or failed) or reason (valueString of at most 1000 characters)", prm.Name).
				At(fmt.Sprintf("Parameters.parameter[%d]", i))
		}
	}
	if state == Journaled && reason != "" {
		return "", "", outcome.New(outcome.Incorrect, outcome.Value, "a reason is given for a failed journaling only").At("Parameters.parameter")
	}
	return state, reason, nil
}
