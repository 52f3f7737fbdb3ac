package fhirjson

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"

	"hpsandbox/fhirstore/outcome"
)

// Elements of type Resource — DomainResource.contained,
// Bundle.entry.resource, Bundle.entry.response.outcome,
// Parameters.parameter.resource (and part.resource) — hold a whole
// resource, whose type is its own resourceType. google/fhir's protocol
// buffers type them either as ContainedResource or as google.protobuf.Any,
// and its parser reads an Any as a resource only when the element is named
// "contained": Parameters.parameter.resource is read as an Any message, so
// its resourceType and every element were refused as unknown. Nor does its
// extended validation look inside an Any, so a contained resource without
// its required elements passed.
//
// Parse therefore takes every resource-typed element out of a resource and
// validates it as a resource of its own, with its path as a prefix, and the
// parser sees the rest. Which elements those are comes from the protocol
// buffers' descriptors (every field of type ContainedResource or Any), not
// from a list, so an element of type Resource is handled wherever it is.

// slot is an element of a message that holds resource-typed elements: one
// itself (resource), or a message with some below it (msg).
type slot struct {
	resource bool
	repeated bool
	msg      protoreflect.MessageDescriptor
}

// holders maps the messages that hold resource-typed elements to those of
// their elements (by JSON name) that are or lead to one. It is built once
// in setup.
var holders map[protoreflect.FullName]map[string]slot

// resourceMessages maps resource type names to their messages.
var resourceMessages map[string]protoreflect.MessageDescriptor

// maxResourceNesting bounds the depth of resources within resources, as
// the parser's MaxNestingDepth bounds elements: a deeper one is refused.
const maxResourceNesting = 16

func isResourceTyped(f protoreflect.FieldDescriptor) bool {
	m := f.Message()
	return m != nil && (m.FullName() == containedName || m.FullName() == "google.protobuf.Any")
}

// findHolders fills holders from the resource messages: a message holds
// when one of its fields is resource-typed or a message that holds; the
// loop runs until nothing changes, as message types are recursive
// (Parameters.parameter.part is a parameter).
func findHolders(roots []protoreflect.MessageDescriptor) {
	all := map[protoreflect.FullName]protoreflect.MessageDescriptor{}
	var walk func(m protoreflect.MessageDescriptor)
	walk = func(m protoreflect.MessageDescriptor) {
		if _, ok := all[m.FullName()]; ok {
			return
		}
		all[m.FullName()] = m
		for i := 0; i < m.Fields().Len(); i++ {
			if f := m.Fields().Get(i); f.Message() != nil && !isResourceTyped(f) {
				walk(f.Message())
			}
		}
	}
	for _, m := range roots {
		walk(m)
	}
	holds := map[protoreflect.FullName]bool{}
	for changed := true; changed; {
		changed = false
		for name, m := range all {
			if holds[name] {
				continue
			}
			for i := 0; i < m.Fields().Len(); i++ {
				f := m.Fields().Get(i)
				if isResourceTyped(f) || (f.Message() != nil && holds[f.Message().FullName()]) {
					holds[name], changed = true, true
					break
				}
			}
		}
	}
	holders = map[protoreflect.FullName]map[string]slot{}
	for name := range holds {
		m := all[name]
		slots := map[string]slot{}
		for i := 0; i < m.Fields().Len(); i++ {
			f := m.Fields().Get(i)
			rep := f.Cardinality() == protoreflect.Repeated
			switch {
			case isResourceTyped(f):
				slots[f.JSONName()] = slot{resource: true, repeated: rep}
			case f.Message() != nil && holds[f.Message().FullName()]:
				slots[f.JSONName()] = slot{repeated: rep, msg: f.Message()}
			}
		}
		holders[name] = slots
	}
}

// inner is a resource taken out of a resource-typed element at path.
type inner struct {
	path string
	body []byte
}

// takeResources returns obj, a compacted JSON object of message m, without
// its resource-typed elements, and appends them to out. An element that is
// not shaped as a resource (not an object, or an array holding something
// else) stays, for the parser to refuse. depth bounds the descent.
func takeResources(obj []byte, fields []field, m protoreflect.MessageDescriptor, path string, depth int, out *[]inner) ([]byte, error) {
	slots := holders[m.FullName()]
	if slots == nil || depth > 64 {
		return obj, nil
	}
	var b []byte // nil until something changes
	for i, f := range fields {
		s, ok := slots[f.key]
		keep, val := true, f.val
		switch {
		case !ok:
		case s.resource && s.repeated && f.val[0] == '[':
			elems, err := splitArray(f.val)
			if err != nil {
				return nil, err
			}
			if !allObjects(elems) {
				break // the parser refuses what is not a resource
			}
			for j, e := range elems {
				*out = append(*out, inner{path: fmt.Sprintf("%s.%s[%d]", path, f.key, j), body: e})
			}
			keep = false
		case s.resource && !s.repeated && f.val[0] == '{':
			*out = append(*out, inner{path: path + "." + f.key, body: f.val})
			keep = false
		case s.msg != nil && s.repeated && f.val[0] == '[':
			elems, err := splitArray(f.val)
			if err != nil {
				return nil, err
			}
			var arr []byte
			for j, e := range elems {
				ne, err := takeFromObject(e, s.msg, fmt.Sprintf("%s.%s[%d]", path, f.key, j), depth+1, out)
				if err != nil {
					return nil, err
				}
				if arr == nil && len(ne) != len(e) {
					arr = append(make([]byte, 0, len(f.val)), '[')
					for k := 0; k < j; k++ {
						if k > 0 {
							arr = append(arr, ',')
						}
						arr = append(arr, elems[k]...)
					}
				}
				if arr != nil {
					if j > 0 {
						arr = append(arr, ',')
					}
					arr = append(arr, ne...)
				}
			}
			if arr != nil {
				val = append(arr, ']')
			}
		case s.msg != nil && !s.repeated && f.val[0] == '{':
			ne, err := takeFromObject(f.val, s.msg, path+"."+f.key, depth+1, out)
			if err != nil {
				return nil, err
			}
			val = ne
		}
		if b == nil && (!keep || len(val) != len(f.val)) {
			b = append(make([]byte, 0, len(obj)), '{')
			for _, g := range fields[:i] {
				b = appendMember(b, g.key, g.val)
			}
		}
		if b != nil && keep {
			b = appendMember(b, f.key, val)
		}
	}
	if b == nil {
		return obj, nil
	}
	return append(b, '}'), nil
}

func takeFromObject(obj []byte, m protoreflect.MessageDescriptor, path string, depth int, out *[]inner) ([]byte, error) {
	if obj[0] != '{' {
		return obj, nil
	}
	fields, err := splitObject(obj)
	if err != nil {
		return nil, err
	}
	return takeResources(obj, fields, m, path, depth, out)
}

func appendMember(b []byte, key string, val []byte) []byte {
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = appendKey(b, key)
	return append(b, val...)
}

// allObjects reports whether elems, the elements of a JSON array, are
// objects, and there is at least one.
func allObjects(elems [][]byte) bool {
	for _, e := range elems {
		if e[0] != '{' {
			return false
		}
	}
	return len(elems) > 0
}

// validateInner validates a resource taken out of a resource-typed element
// and names its issues below the element's path.
func validateInner(in inner, nesting int) *outcome.Error {
	prefix := func(oe *outcome.Error) *outcome.Error {
		c := *oe
		c.Issues = make([]outcome.Issue, len(oe.Issues))
		for i, is := range oe.Issues {
			is.Expression = append([]string(nil), is.Expression...)
			for j, ex := range is.Expression {
				is.Expression[j] = in.path + "." + ex
			}
			if len(is.Expression) == 0 {
				is.Expression = []string{in.path}
			}
			c.Issues[i] = is
		}
		return &c
	}
	if nesting > maxResourceNesting {
		return outcome.New(outcome.Incorrect, outcome.Structure,
			"resources are nested more than %d deep", maxResourceNesting).At(in.path)
	}
	fields, err := splitObject(in.body)
	if err != nil {
		return outcome.New(outcome.Incorrect, outcome.Structure, "the resource is not a JSON object").At(in.path)
	}
	typ := ""
	for _, f := range fields {
		if f.key == "resourceType" {
			_ = json.Unmarshal(f.val, &typ) // not a string: typ stays empty
		}
	}
	switch {
	case typ == "":
		return outcome.New(outcome.Incorrect, outcome.Required, "the resource has no resourceType").At(in.path + ".resourceType")
	case !IsType(typ):
		return outcome.New(outcome.Incorrect, outcome.NotSupported,
			"%q is not a FHIR R4 resource type", typ).At(in.path + ".resourceType")
	}
	if oe := validate(in.body, fields, typ, nesting); oe != nil {
		return prefix(oe)
	}
	return nil
}
