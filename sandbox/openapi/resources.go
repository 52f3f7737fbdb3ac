package openapi

import (
	"fmt"
	"slices"
	"strings"

	"hpsandbox/fhirstore/profile"
)

// The schemas of resources and data types are generated from the R4 core
// StructureDefinitions the profile validator holds (package
// fhirstore/profile), the definitions every write is judged by. A
// resource's schema lists its top-level elements with their JSON types and
// cardinality (an array for max "*"); its data-type elements refer to a
// shared schema per data type (fhir.dt.{Type}), which lists that type's
// own elements one level deep. Unknown elements are not allowed, except
// the _element siblings that carry a primitive's id and extensions.
//
// The minimum cardinality of a required element is said in its
// description but not made required in the schema: an answer to _elements or _summary leaves required
// elements out, as FHIR allows (marked SUBSETTED).

// dtPrefix names the shared schemas of data types.
const dtPrefix = "fhir.dt."

// primitiveJSON is the JSON type of each FHIR primitive (R4 §2.6.2):
// numbers and booleans are JSON numbers and booleans, the rest strings.
var primitiveJSON = map[string]string{
	"boolean": "boolean", "integer": "integer", "positiveInt": "integer", "unsignedInt": "integer", "decimal": "number",
	"string": "string", "code": "string", "id": "string", "uri": "string", "url": "string", "canonical": "string",
	"oid": "string", "uuid": "string", "markdown": "string", "base64Binary": "string", "instant": "string",
	"date": "string", "dateTime": "string", "time": "string", "xhtml": "string",
	// The FHIRPath system types of Element.id, Extension.url and the
	// primitives' own value.
	"http://hl7.org/fhirpath/System.String": "string", "http://hl7.org/fhirpath/System.Boolean": "boolean",
	"http://hl7.org/fhirpath/System.Integer": "integer", "http://hl7.org/fhirpath/System.Decimal": "number",
	"http://hl7.org/fhirpath/System.Date": "string", "http://hl7.org/fhirpath/System.DateTime": "string",
	"http://hl7.org/fhirpath/System.Time": "string",
}

// resourceSchema is the schema of resource type t from its core
// definition; it notes the data types it refers to in dts.
func resourceSchema(defs *profile.Definitions, t string, dts map[string]bool) (object, error) {
	props, err := elementProperties(defs, t, func(code string) (object, bool) {
		if _, ok := primitiveJSON[code]; ok {
			return nil, false
		}
		switch code {
		case "Resource", "DomainResource":
			return ref("schemas", "fhir.Resource"), true
		case "BackboneElement", "Element":
			return object{"type": "object"}, true
		}
		dts[code] = true
		return ref("schemas", dtPrefix+code), true
	})
	if err != nil {
		return nil, err
	}
	props["resourceType"] = object{"const": t}
	return object{"type": "object", "required": []string{"resourceType"}, "properties": props,
		"patternProperties": object{"^_[a-z][A-Za-z0-9]*$": object{"type": "object"}}, "additionalProperties": false,
		"description": "A " + t + " (R4): its top-level elements, from the core StructureDefinition; see http://hl7.org/fhir/R4/" + lower(t) + ".html"}, nil
}

// dataTypeSchema is the schema of data type t: its own elements, with
// those of complex types as objects (or arrays of objects).
func dataTypeSchema(defs *profile.Definitions, t string) (object, error) {
	props, err := elementProperties(defs, t, func(code string) (object, bool) {
		if _, ok := primitiveJSON[code]; ok {
			return nil, false
		}
		return object{"type": "object"}, true
	})
	if err != nil {
		return nil, err
	}
	return object{"type": "object", "properties": props,
		"patternProperties": object{"^_[a-z][A-Za-z0-9]*$": object{"type": "object"}}, "additionalProperties": false,
		"description": "The FHIR R4 data type " + t + "; see http://hl7.org/fhir/R4/datatypes.html"}, nil
}

// elementProperties makes a property per top-level element of type t's
// core definition (a choice element value[x] one per type: valueQuantity,
// valueString, …). complex returns the schema of a non-primitive type
// code, or false for a primitive.
func elementProperties(defs *profile.Definitions, t string, complex func(code string) (object, bool)) (object, error) {
	sd := defs.StructureDefinition(t)
	if sd == nil || sd.Snapshot == nil {
		return nil, fmt.Errorf("no core StructureDefinition with a snapshot for %s", t)
	}
	props := object{}
	for _, e := range sd.Snapshot.Element {
		name, ok := strings.CutPrefix(e.Path, t+".")
		if !ok || strings.Contains(name, ".") || e.SliceName != "" {
			continue
		}
		card := fmt.Sprintf("%d..", e.MinCount())
		if e.MaxCount() < 0 {
			card += "*"
		} else {
			card += fmt.Sprint(e.MaxCount())
		}
		one := func(code string) object {
			if s, ok := complex(code); ok {
				return s
			}
			return object{"type": primitiveJSON[code]}
		}
		wrap := func(s object, typ string) object {
			out := object{}
			if e.MinCount() > 0 {
				// Said, not required (see above); 0..1 and 0..* go
				// without saying.
				out["description"] = typ + " " + card + ", required"
			}
			if e.MaxCount() < 0 || e.MaxCount() > 1 {
				out["type"], out["items"] = "array", s
				return out
			}
			if r, isRef := s["$ref"]; isRef {
				// A $ref beside other keywords is allowed in 3.1; kept
				// alone under allOf for tools that read 3.0.
				out["allOf"] = []any{object{"$ref": r}}
				return out
			}
			for k, v := range s {
				out[k] = v
			}
			return out
		}
		switch {
		case e.ContentReference != "":
			// An element defined as another (Questionnaire.item.item): a
			// backbone element.
			props[name] = wrap(object{"type": "object"}, "BackboneElement")
		case strings.HasSuffix(name, "[x]"):
			stem := strings.TrimSuffix(name, "[x]")
			for _, tr := range e.Type {
				props[stem+upperFirst(tr.Code)] = wrap(one(tr.Code), tr.Code)
			}
		case len(e.Type) == 1:
			props[name] = wrap(one(e.Type[0].Code), shortType(e.Type[0].Code))
		default:
			return nil, fmt.Errorf("%s: %d types on an element that is not a choice", e.Path, len(e.Type))
		}
	}
	return props, nil
}

// addResourceSchemas puts the schema of each resource type and of the
// data types they use.
func (d *doc) addResourceSchemas(types []string) error {
	defs := profile.Core()
	dts := map[string]bool{}
	for _, t := range types {
		s, err := resourceSchema(defs, t, dts)
		if err != nil {
			return err
		}
		if err := put(d.schemas, "fhir."+t, s); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(dts))
	for n := range dts {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s, err := dataTypeSchema(defs, n)
		if err != nil {
			return err
		}
		if err := put(d.schemas, dtPrefix+n, s); err != nil {
			return err
		}
	}
	return nil
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// shortType is a type code as a reader knows it: System.String for the
// FHIRPath URL.
func shortType(code string) string {
	return strings.TrimPrefix(code, "http://hl7.org/fhirpath/")
}
