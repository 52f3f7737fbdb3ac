package vkp

import (
	"bytes"
	"encoding/json"
	"slices"
	"unicode/utf8"
)

// The hub decodes each resource of a submission into map[string]any (to
// judge its codes and person and to rewrite its subject and id) and
// encodes the transaction it stores from those maps. encoding/json does
// both through reflection, sorting map keys through reflect values, and
// its decoder validates input SplitBundle has already compacted and
// validated. decodeValue and appendValue do the same work directly on the
// few types these documents hold, and hand anything else (escapes, invalid
// UTF-8, characters encoding/json escapes, other types) to encoding/json,
// so that their results are encoding/json's byte for byte.

// decode decodes raw, compacted JSON (valid: SplitBundle compacted it),
// keeping numbers as they were written (json.Number), as a json.Decoder
// with UseNumber does.
func decode(raw []byte) any {
	d := valueDecoder{b: raw}
	if v, ok := d.value(); ok && d.i == len(raw) {
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

// valueDecoder reads compacted JSON: no white space between tokens.
type valueDecoder struct {
	b []byte
	i int
}

func (d *valueDecoder) value() (any, bool) {
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		if s, ok := d.string(); ok {
			return s, true
		}
		return nil, false
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		start := d.i
		for d.i < len(d.b) {
			switch c := d.b[d.i]; {
			case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
				d.i++
				continue
			}
			break
		}
		return json.Number(d.b[start:d.i]), true
	}
	return nil, false
}

func (d *valueDecoder) literal(lit string) bool {
	if !bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		return false
	}
	d.i += len(lit)
	return true
}

func (d *valueDecoder) object() (any, bool) {
	d.i++ // {
	m := map[string]any{}
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, true
	}
	for {
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, false
		}
		k, ok := d.string()
		if !ok || d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, false
		}
		d.i++
		v, ok := d.value()
		if !ok || d.i >= len(d.b) {
			return nil, false
		}
		m[k] = v // the last of repeated members counts
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, true
		default:
			return nil, false
		}
	}
}

func (d *valueDecoder) array() (any, bool) {
	d.i++ // [
	a := []any{}
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return a, true
	}
	for {
		v, ok := d.value()
		if !ok || d.i >= len(d.b) {
			return nil, false
		}
		a = append(a, v)
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, true
		default:
			return nil, false
		}
	}
}

// string reads a string token; one with escapes or invalid UTF-8 is
// unquoted by encoding/json, which replaces invalid UTF-8 with U+FFFD.
func (d *valueDecoder) string() (string, bool) {
	start := d.i
	d.i++
	plain, ascii := true, true
	for d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c == '"':
			d.i++
			tok := d.b[start:d.i]
			body := tok[1 : len(tok)-1]
			if plain && (ascii || utf8.Valid(body)) {
				return string(body), true
			}
			var s string
			if json.Unmarshal(tok, &s) != nil {
				return "", false
			}
			return s, true
		case c == '\\':
			plain = false
			d.i += 2
		default:
			if c < 0x20 {
				return "", false
			}
			if c >= utf8.RuneSelf {
				ascii = false
			}
			d.i++
		}
	}
	return "", false
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
