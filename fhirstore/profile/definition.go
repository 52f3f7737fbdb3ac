package profile

import (
	"encoding/json"
	"strings"
	"sync"
)

// StructureDefinition is what validation reads of a FHIR StructureDefinition.
// Its JSON form is the FHIR one, so a supplier's definition decodes into it.
type StructureDefinition struct {
	ResourceType   string `json:"resourceType"`
	URL            string `json:"url"`
	Name           string `json:"name,omitempty"`
	Type           string `json:"type"`
	Kind           string `json:"kind,omitempty"`
	Abstract       bool   `json:"abstract,omitempty"`
	BaseDefinition string `json:"baseDefinition,omitempty"`
	Derivation     string `json:"derivation,omitempty"`
	Snapshot       *struct {
		Element []*Element `json:"element"`
	} `json:"snapshot,omitempty"`
	Differential *struct {
		Element []*Element `json:"element"`
	} `json:"differential,omitempty"`
}

// Element is what validation reads of an ElementDefinition.
type Element struct {
	ID               string       `json:"id,omitempty"`
	Path             string       `json:"path"`
	SliceName        string       `json:"sliceName,omitempty"`
	Min              *int         `json:"min,omitempty"`
	Max              maxString    `json:"max,omitempty"`
	ContentReference string       `json:"contentReference,omitempty"`
	MaxLength        int          `json:"maxLength,omitempty"`
	IsModifier       bool         `json:"isModifier,omitempty"`
	MustSupport      bool         `json:"mustSupport,omitempty"`
	Type             []TypeRef    `json:"type,omitempty"`
	Binding          *Binding     `json:"binding,omitempty"`
	Constraint       []Constraint `json:"constraint,omitempty"`
	Slicing          *Slicing     `json:"slicing,omitempty"`
	Fixed            *TypedValue  `json:"-"`
	Pattern          *TypedValue  `json:"-"`
	MinValue         *TypedValue  `json:"-"`
	MaxValue         *TypedValue  `json:"-"`
}

// TypedValue is the value of a choice element such as fixed[x]: the type
// suffix of its JSON name ("Code" in fixedCode) and its JSON value.
type TypedValue struct {
	Type  string
	Value json.RawMessage

	once sync.Once
	tree *jvalue // Value parsed, on first use
}

// TypeRef is an ElementDefinition.type.
type TypeRef struct {
	Code          string   `json:"code"`
	Profile       []string `json:"profile,omitempty"`
	TargetProfile []string `json:"targetProfile,omitempty"`
}

// Binding is an ElementDefinition.binding.
type Binding struct {
	Strength string `json:"strength,omitempty"`
	ValueSet string `json:"valueSet,omitempty"`
}

// Constraint is an ElementDefinition.constraint (an invariant).
type Constraint struct {
	Key        string `json:"key"`
	Severity   string `json:"severity,omitempty"`
	Human      string `json:"human,omitempty"`
	Expression string `json:"expression,omitempty"`
	Source     string `json:"source,omitempty"`
}

// Slicing is an ElementDefinition.slicing.
type Slicing struct {
	Discriminator []Discriminator `json:"discriminator,omitempty"`
	Ordered       bool            `json:"ordered,omitempty"`
	Rules         string          `json:"rules,omitempty"`
}

// Discriminator is an ElementDefinition.slicing.discriminator.
type Discriminator struct {
	Type string `json:"type"`
	Path string `json:"path"`
}

// maxString is ElementDefinition.max, read also from the number some
// hand-written definitions put there.
type maxString string

// UnmarshalJSON accepts "1", "*" and 1.
func (m *maxString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*m = maxString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*m = maxString(n.String())
	return nil
}

type elementJSON Element

// choiceKeys are the ElementDefinition choice elements validation reads.
var choiceKeys = []string{"fixed", "pattern", "minValue", "maxValue"}

// UnmarshalJSON reads the FHIR form, including fixed[x], pattern[x],
// minValue[x] and maxValue[x] under their typed names.
func (e *Element) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, (*elementJSON)(e)); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, v := range all {
		for _, prefix := range choiceKeys {
			if len(k) > len(prefix) && strings.HasPrefix(k, prefix) && k[len(prefix)] >= 'A' && k[len(prefix)] <= 'Z' {
				*e.choice(prefix) = &TypedValue{Type: k[len(prefix):], Value: v}
			}
		}
	}
	return nil
}

// MarshalJSON writes the FHIR form.
func (e *Element) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal((*elementJSON)(e))
	if err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for _, prefix := range choiceKeys {
		if v := *e.choice(prefix); v != nil {
			all[prefix+v.Type] = v.Value
		}
	}
	return json.Marshal(all)
}

func (e *Element) choice(prefix string) **TypedValue {
	switch prefix {
	case "fixed":
		return &e.Fixed
	case "pattern":
		return &e.Pattern
	case "minValue":
		return &e.MinValue
	}
	return &e.MaxValue
}

// MinCount is the element's minimum cardinality (0 when absent).
func (e *Element) MinCount() int {
	if e.Min == nil {
		return 0
	}
	return *e.Min
}

// MaxCount is the element's maximum cardinality; -1 means unbounded.
func (e *Element) MaxCount() int {
	switch e.Max {
	case "*":
		return -1
	case "":
		return -1
	}
	n := 0
	for _, c := range string(e.Max) {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// clone returns a deep enough copy for snapshot generation to change.
func (e *Element) clone() *Element {
	c := *e
	if e.Min != nil {
		m := *e.Min
		c.Min = &m
	}
	c.Type = append([]TypeRef(nil), e.Type...)
	c.Constraint = append([]Constraint(nil), e.Constraint...)
	if e.Binding != nil {
		b := *e.Binding
		c.Binding = &b
	}
	return &c
}
