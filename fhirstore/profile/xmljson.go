package profile

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// FromXML converts a resource in FHIR's XML form to its JSON form, following
// the rules of FHIR R4 (§2.6): a child element becomes a property, a
// repeating one an array, the value attribute the primitive's value (a JSON
// boolean or number where the type is one), id and extensions of a
// primitive go to "_name", the url attribute of an extension to "url", a
// contained resource becomes an object with resourceType, and the XHTML of
// a narrative stays XHTML in a string. Which elements repeat and what type
// a primitive has is read from the definitions, so it knows the core
// resources and types; it is meant for the conformance resources of an
// implementation guide (StructureDefinition, ValueSet, CodeSystem …).
func (d *Definitions) FromXML(raw []byte) ([]byte, error) {
	root, err := parseXML(raw)
	if err != nil {
		return nil, err
	}
	c, err := d.compile(root.name)
	if err != nil {
		return nil, fmt.Errorf("profile: from XML: unknown resource type %s", root.name)
	}
	obj, err := d.xmlResource(root, c)
	if err != nil {
		return nil, err
	}
	return marshalPlain(obj)
}

// marshalPlain writes JSON without escaping <, > and &, which narratives are full of.
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// xnode is an XML element: its name, attributes, children and, for an
// XHTML div, its own markup.
type xnode struct {
	name     string
	space    string
	attrs    map[string]string
	children []*xnode
	markup   string
}

const xhtmlNS = "http://www.w3.org/1999/xhtml"

func parseXML(raw []byte) (*xnode, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var stack []*xnode
	var root *xnode
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("profile: from XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local, space: t.Name.Space, attrs: map[string]string{}}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					n.attrs[a.Name.Local] = a.Value
				}
			}
			if t.Name.Space == xhtmlNS && t.Name.Local == "div" {
				if err := dec.Skip(); err != nil {
					return nil, fmt.Errorf("profile: from XML: %w", err)
				}
				n.markup = string(raw[before:dec.InputOffset()])
				if len(stack) > 0 {
					parent := stack[len(stack)-1]
					parent.children = append(parent.children, n)
				}
				continue
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if root == nil {
		return nil, fmt.Errorf("profile: from XML: no root element")
	}
	return root, nil
}

// object is a JSON object that keeps the order of its members.
type object struct {
	keys []string
	vals map[string]any
}

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// MarshalJSON writes the members in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := marshalPlain(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshalPlain(o.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (d *Definitions) xmlResource(x *xnode, c *compiled) (*object, error) {
	obj := newObject()
	obj.set("resourceType", x.name)
	if err := d.xmlChildren(x, c.root.kids(), obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// xmlChildren converts the child elements of x, defined by kids, into members of obj.
func (d *Definitions) xmlChildren(x *xnode, kids []*node, obj *object) error {
	if id, ok := x.attrs["id"]; ok {
		obj.set("id", id)
	}
	if u, ok := x.attrs["url"]; ok {
		obj.set("url", u)
	}
	type slot struct {
		values []any
		exts   []any
		array  bool
	}
	slots := map[string]*slot{}
	var order []string
	for _, ch := range x.children {
		k, typ := match(kids, ch.name)
		if k == nil {
			return fmt.Errorf("profile: from XML: unknown element %s in %s", ch.name, x.name)
		}
		s := slots[ch.name]
		if s == nil {
			s = &slot{array: k.el.Max != "1" && k.el.Max != "0"}
			slots[ch.name] = s
			order = append(order, ch.name)
		}
		v, ext, err := d.xmlValue(ch, k, typ)
		if err != nil {
			return err
		}
		s.values = append(s.values, v)
		s.exts = append(s.exts, ext)
	}
	for _, name := range order {
		s := slots[name]
		hasValue, hasExt := false, false
		for i := range s.values {
			hasValue = hasValue || s.values[i] != nil
			hasExt = hasExt || s.exts[i] != nil
		}
		if hasValue {
			obj.set(name, pick(s.values, s.array))
		}
		if hasExt {
			obj.set("_"+name, pick(s.exts, s.array))
		}
	}
	return nil
}

func pick(list []any, array bool) any {
	if array || len(list) > 1 {
		return list
	}
	return list[0]
}

// xmlValue converts one element: a primitive gives its value and the
// object of its id and extensions; others give an object.
func (d *Definitions) xmlValue(x *xnode, k *node, typ string) (any, any, error) {
	switch {
	case x.markup != "":
		return x.markup, nil, nil
	case d.isResourceType(typ):
		if len(x.children) != 1 {
			return nil, nil, fmt.Errorf("profile: from XML: %s must hold one resource", x.name)
		}
		inner := x.children[0]
		c, err := d.compile(inner.name)
		if err != nil {
			return nil, nil, fmt.Errorf("profile: from XML: unknown resource type %s", inner.name)
		}
		obj, err := d.xmlResource(inner, c)
		return obj, nil, err
	case isPrimitive(typ):
		var value any
		if v, ok := x.attrs["value"]; ok {
			value = primitiveJSON(typ, v)
		}
		var ext any
		if _, hasID := x.attrs["id"]; hasID || len(x.children) > 0 {
			c, err := d.compile("Element")
			if err != nil {
				return nil, nil, err
			}
			o := newObject()
			if err := d.xmlChildren(x, c.root.kids(), o); err != nil {
				return nil, nil, err
			}
			ext = o
		}
		return value, ext, nil
	}
	kids := k.kids()
	if len(kids) == 0 {
		c, err := d.compile(typ)
		if err != nil {
			return nil, nil, fmt.Errorf("profile: from XML: element %s: unknown type %q", x.name, typ)
		}
		kids = c.root.kids()
	}
	o := newObject()
	if err := d.xmlChildren(x, kids, o); err != nil {
		return nil, nil, err
	}
	return o, nil, nil
}

// primitiveJSON gives a primitive's XML value its JSON form.
func primitiveJSON(typ, v string) any {
	switch jsonKind(typ) {
	case kBool:
		if v == "true" || v == "false" {
			return v == "true"
		}
	case kNumber:
		if strings.TrimSpace(v) != "" && json.Valid([]byte(v)) {
			return json.Number(v)
		}
	}
	return v
}
