package vkp

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"

	"hpsandbox/fhirstore/fhirjson"
)

// The hub decodes each resource of a submission into map[string]any (to
// judge its codes and person and to rewrite its subject and id) and
// encodes the transaction it stores from those maps. encoding/json does
// both through reflection, sorting map keys through reflect values, and
// its decoder validates input SplitBundle has already compacted and
// validated. decode (through fhirjson.DecodeValue) and appendValue do the
// same work directly on the few types these documents hold, and hand
// anything else (escapes, invalid UTF-8, characters encoding/json escapes,
// other types) to encoding/json, so that their results are encoding/json's
// byte for byte.

// decode decodes raw, compacted JSON (valid: SplitBundle compacted it),
// keeping numbers as they were written (json.Number), as a json.Decoder
// with UseNumber does: by fhirjson.DecodeValue, which agrees with it.
func decode(raw []byte) any {
	if v, err := fhirjson.DecodeValue(raw); err == nil {
		return v
	}
	return decodeStd(raw)
}

// decodeStd is decode by encoding/json.
func decodeStd(raw []byte) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v)
	return v
}

// marshalValue encodes v as json.Marshal does.
func marshalValue(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 2048), v)
}

func appendValue(out []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(out, "null"...), nil
	case bool:
		if v {
			return append(out, "true"...), nil
		}
		return append(out, "false"...), nil
	case string:
		return appendString(out, v)
	case map[string]any:
		if v == nil {
			return append(out, "null"...), nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out = append(out, '{')
		for i, k := range keys {
			if i > 0 {
				out = append(out, ',')
			}
			var err error
			if out, err = appendString(out, k); err != nil {
				return nil, err
			}
			out = append(out, ':')
			if out, err = appendValue(out, v[k]); err != nil {
				return nil, err
			}
		}
		return append(out, '}'), nil
	case []any:
		if v == nil {
			return append(out, "null"...), nil
		}
		out = append(out, '[')
		for i, e := range v {
			if i > 0 {
				out = append(out, ',')
			}
			var err error
			if out, err = appendValue(out, e); err != nil {
				return nil, err
			}
		}
		return append(out, ']'), nil
	}
	return appendStd(out, v)
}

// appendString quotes s; one that holds anything encoding/json escapes or
// replaces (quotes, backslashes, control characters, <, > and &, U+2028,
// U+2029, invalid UTF-8) is quoted by encoding/json.
func appendString(out []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && n == 1) || r == '\u2028' || r == '\u2029' {
				return appendStd(out, s)
			}
			i += n
			continue
		}
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendStd(out, s)
		}
		i++
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"'), nil
}

func appendStd(out []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(out, b...), nil
}
