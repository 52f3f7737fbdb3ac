package mtu

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"hpsandbox/fhirstore"
)

// The connector builds every resource it stores itself, from the mapping
// tables and from values of the message. Its elements, cardinalities and
// reference targets are valid R4 by construction (the tables' tests run
// fhirjson over every mapping's output, and FuzzVouched over whatever a
// message makes of them); what a sender writes can still make a primitive
// that R4 refuses: a code with two spaces, a system URI with a blank, an
// empty or control-character string. vouchable reads every primitive of
// the entries, and only a transaction whose primitives all have their
// type's form is vouched for (interaction.BundleRequest.Validated), so
// that the engine does not parse it with google/fhir again; any other is
// validated by the engine in full, and refused as before when invalid.

// validatedEngine is an engine that takes a transaction whose resources
// the connector vouches are valid R4 (the gateway's, and the FHIR engine).
type validatedEngine interface {
	ValidatedTransaction(ctx context.Context, sandbox fhirstore.Sandbox, bundle []byte) ([]byte, error)
}

// transaction stores bundle, the transaction of entries, through the
// engine: vouched for when every primitive of the entries has its form.
func (c *Connector) transaction(ctx context.Context, sandbox string, entries []obj, bundle []byte) ([]byte, error) {
	if v, ok := c.engine.(validatedEngine); ok && vouchable(entries) {
		return v.ValidatedTransaction(ctx, fhirstore.Sandbox(sandbox), bundle)
	}
	return c.engine.Transaction(ctx, fhirstore.Sandbox(sandbox), bundle)
}

// Forms of the R4 primitives the connector writes (FHIR datatypes.html).
var (
	codeForm     = regexp.MustCompile(`^[^\s]+( [^\s]+)*$`)
	decimalForm  = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)
	dateTimeForm = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
)

// codeKeys and uriKeys name the elements of type code and uri (or a
// reference) among those the connector writes; dateTimeKeys those of
// type dateTime or date. Every other string is of type string.
var (
	codeKeys     = map[string]bool{"code": true, "status": true, "gender": true, "use": true, "severity": true, "method": true}
	uriKeys      = map[string]bool{"system": true, "reference": true, "fullUrl": true, "url": true, "ifNoneExist": true}
	dateTimeKeys = map[string]bool{"effectiveDateTime": true, "valueDateTime": true, "birthDate": true, "start": true, "end": true, "identifiedDateTime": true, "issued": true}
)

// vouchable reports whether every primitive of the entries (and of their
// requests) has its R4 type's form, judged by its element's name: a value
// of a kind the connector does not write is not vouched for.
func vouchable(entries []obj) bool {
	for _, e := range entries {
		if !vouchValue("", e) {
			return false
		}
	}
	return true
}

func vouchValue(key string, v any) bool {
	switch v := v.(type) {
	case obj:
		for k, x := range v {
			if !vouchValue(k, x) {
				return false
			}
		}
		return true
	case []obj:
		for _, x := range v {
			if !vouchValue(key, x) {
				return false
			}
		}
		return len(v) > 0
	case []any:
		for _, x := range v {
			if !vouchValue(key, x) {
				return false
			}
		}
		return len(v) > 0
	case []string:
		for _, x := range v {
			if !vouchValue(key, x) {
				return false
			}
		}
		return len(v) > 0
	case string:
		return vouchString(key, v)
	case json.Number:
		return decimalForm.MatchString(string(v)) && len(v) <= 32
	case bool:
		return true
	}
	return false
}

func vouchString(key, s string) bool {
	// Whatever its type: valid UTF-8, and no control character but the
	// white space R4 allows in a string.
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
	}) {
		return false
	}
	switch {
	case codeKeys[key]:
		return codeForm.MatchString(s)
	case uriKeys[key]:
		return s != "" && !strings.ContainsFunc(s, unicode.IsSpace)
	case dateTimeKeys[key]:
		return dateTimeForm.MatchString(s)
	}
	// A string: not empty, and no white space at either end.
	return s != "" && strings.TrimSpace(s) == s
}
