package fhirjson

import (
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// DecodeObject decodes the JSON object at the start of data as
// encoding/json's Decoder with UseNumber does (strings, json.Number, bool,
// nil, []any, map[string]any; the last of repeated keys counts; what
// follows the object is not read), in a third of its time: it is the most
// expensive step of index extraction after the parameters themselves, and
// the hub decodes each submitted resource with it.
func DecodeObject(data []byte) (map[string]any, error) {
	d := decoder{b: data}
	d.space()
	if d.i == len(d.b) {
		return nil, io.EOF
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case map[string]any:
		return v, nil
	case nil:
		return nil, nil
	}
	return nil, errNotObject
}

// DecodeValue decodes data, one JSON value with nothing but white space
// around it, as encoding/json's Unmarshal into an any with UseNumber does.
func DecodeValue(data []byte) (any, error) {
	d := decoder{b: data}
	d.space()
	if d.i == len(d.b) {
		return nil, io.EOF
	}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.space()
	if d.i != len(d.b) {
		return nil, errSyntax
	}
	return v, nil
}

var (
	errNotObject = errors.New("JSON value is not an object")
	errSyntax    = errors.New("invalid JSON")
	errDepth     = errors.New("JSON nested too deeply")
)

// maxDepth is encoding/json's limit of nesting.
const maxDepth = 10000

type decoder struct {
	b []byte
	i int
}

func (d *decoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if d.i >= len(d.b) {
		return nil, io.ErrUnexpectedEOF
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return d.object(depth + 1)
	case c == '[':
		return d.array(depth + 1)
	case c == '"':
		return d.string()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, errSyntax
}

func (d *decoder) literal(word string) error {
	if len(d.b)-d.i < len(word) {
		return io.ErrUnexpectedEOF
	}
	if string(d.b[d.i:d.i+len(word)]) != word {
		return errSyntax
	}
	d.i += len(word)
	return nil
}

func (d *decoder) object(depth int) (map[string]any, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	d.i++ // {
	m := map[string]any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, nil
	}
	for {
		d.space()
		if d.i >= len(d.b) {
			return nil, io.ErrUnexpectedEOF
		}
		if d.b[d.i] != '"' {
			return nil, errSyntax
		}
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		d.space()
		if d.i >= len(d.b) {
			return nil, io.ErrUnexpectedEOF
		}
		if d.b[d.i] != ':' {
			return nil, errSyntax
		}
		d.i++
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.space()
		if d.i >= len(d.b) {
			return nil, io.ErrUnexpectedEOF
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case '}':
			d.i++
			return m, nil
		default:
			return nil, errSyntax
		}
	}
}

func (d *decoder) array(depth int) ([]any, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	d.i++ // [
	a := []any{}
	d.space()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return a, nil
	}
	for {
		d.space()
		v, err := d.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		if d.i >= len(d.b) {
			return nil, io.ErrUnexpectedEOF
		}
		switch d.b[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			return a, nil
		default:
			return nil, errSyntax
		}
	}
}

// string decodes the string at d.i. A string without escapes, control
// characters or invalid UTF-8 is taken as it is; any other goes through
// encoding/json, which decodes escapes and replaces invalid bytes.
func (d *decoder) string() (string, error) {
	start := d.i
	plain := true
	for j := start + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			raw := d.b[start+1 : j]
			if plain && utf8.Valid(raw) {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(d.b[start:j+1], &s); err != nil {
				return "", err
			}
			return s, nil
		case c == '\\':
			plain = false
			j++
		case c < 0x20:
			return "", errSyntax
		}
	}
	return "", io.ErrUnexpectedEOF
}

// number checks the JSON number at d.i and returns it as written.
func (d *decoder) number() (json.Number, error) {
	b, i := d.b, d.i
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return "", d.end(i)
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return "", d.end(i)
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return "", d.end(i)
		}
	}
	n := json.Number(b[d.i:i])
	d.i = i
	return n, nil
}

// end is the error of a value cut short at i: the input ended, or went on
// with something else.
func (d *decoder) end(i int) error {
	if i >= len(d.b) {
		return io.ErrUnexpectedEOF
	}
	return errSyntax
}
