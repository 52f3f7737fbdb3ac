package profile

import (
	"encoding/base64"
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"

	"hpsandbox/fhirstore/outcome"
)

// The lexical forms of the R4 primitive types (FHIR R4 §2.24.0.1).
var primitiveForms = map[string]*regexp.Regexp{
	"integer":     regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`),
	"positiveInt": regexp.MustCompile(`^\+?[1-9][0-9]*$`),
	"unsignedInt": regexp.MustCompile(`^(0|[1-9][0-9]*)$`),
	"decimal":     regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`),
	"date":        regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`),
	"dateTime":    regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`),
	"instant":     regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`),
	"time":        regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$`),
	"id":          regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`),
	"oid":         regexp.MustCompile(`^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$`),
	"uuid":        regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`),
}

// jsonKind is the JSON kind a primitive type takes.
func jsonKind(typ string) kind {
	switch typ {
	case "boolean", "System.Boolean", "http://hl7.org/fhirpath/System.Boolean":
		return kBool
	case "integer", "positiveInt", "unsignedInt", "decimal",
		"System.Integer", "System.Decimal", "http://hl7.org/fhirpath/System.Integer", "http://hl7.org/fhirpath/System.Decimal":
		return kNumber
	}
	return kString
}

// primitive checks a primitive value's JSON kind and lexical form.
func (r *run) primitive(v *jvalue, typ string, path pathID) {
	want := jsonKind(typ)
	if v.kind != want {
		r.add(outcome.ErrorLevel, outcome.Structure, path, "type",
			"The value of a %s must be a JSON %s, not %s", typeName(typ), want, v.kind)
		return
	}
	if v.kind == kString && v.str == "" {
		r.add(outcome.ErrorLevel, outcome.Invalid, path, "type", "A %s value cannot be empty", typeName(typ))
		return
	}
	if typ == "id" && len(v.str) > 64 {
		r.add(outcome.ErrorLevel, outcome.Invalid, path, "type", "Invalid Resource id: Too long (%d chars)", len(v.str))
		return
	}
	if !lexical(typ, v.str) {
		what := map[string]string{"id": "Invalid Resource id: Invalid Characters"}[typ]
		if what == "" {
			what = "Not a valid " + typ
		}
		r.add(outcome.ErrorLevel, outcome.Invalid, path, "type", "%s: '%s'", what, v.str)
		return
	}
	switch typ {
	case "integer", "unsignedInt", "positiveInt":
		if _, err := strconv.ParseInt(strings.TrimPrefix(v.str, "+"), 10, 32); err != nil {
			r.add(outcome.ErrorLevel, outcome.Invalid, path, "type", "The value %s is outside the range of a 32-bit integer", v.str)
		}
	case "base64Binary":
		if _, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v.str), "")); err != nil {
			r.add(outcome.ErrorLevel, outcome.Invalid, path, "type", "The value '%s' is not a valid Base64 value", short(v.str))
		}
	case "xhtml":
		r.xhtml(v.str, path)
	}
}

// lexical checks a value's lexical form; the most frequent forms (code,
// uri) are checked without a regular expression.
func lexical(typ, s string) bool {
	switch typ {
	case "code":
		// [^\s]+( [^\s]+)*: no leading, trailing or double spaces, no other whitespace.
		if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || strings.Contains(s, "  ") {
			return false
		}
		return !strings.ContainsAny(s, "\t\n\r\v\f")
	case "uri", "url", "canonical":
		return !strings.ContainsAny(s, " \t\n\r\v\f")
	case "string", "markdown", "xhtml", "base64Binary", "boolean":
		return true
	}
	re := primitiveForms[typ]
	return re == nil || re.MatchString(s)
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// xhtml checks that a narrative is well-formed XHTML in a div, with only
// XML's own entities.
func (r *run) xhtml(s string, path pathID) {
	if !strings.HasPrefix(strings.TrimSpace(s), "<div") {
		r.add(outcome.ErrorLevel, outcome.Invalid, path, "txt-1", "The narrative must be a single XHTML div element")
		return
	}
	dec := xml.NewDecoder(strings.NewReader(s))
	dec.Strict = true
	content := false
	for {
		tok, err := dec.Token()
		if err == nil {
			content = content || hasContent(tok)
			continue
		}
		if err.Error() != "EOF" {
			r.add(outcome.ErrorLevel, outcome.Invalid, path, "xhtml", "The narrative is not well-formed XHTML: %v", err)
			return
		}
		// A well-formed div reads the same to the lenient reader of txt-2:
		// the tokens it saw answer that invariant too.
		r.div, r.divContent, r.divKnown = s, content, true
		return
	}
}
