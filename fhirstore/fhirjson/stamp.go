package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// field is one member of a JSON object: its decoded key and raw value.
type field struct {
	key string
	val []byte
}

var errMalformed = errors.New("malformed JSON object")

// splitObject splits a compacted JSON object into its members, in order.
// It scans bytes rather than decoding values, so it costs one pass.
func splitObject(b []byte) ([]field, error) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, errMalformed
	}
	// Resources have some ten members at the top: one allocation holds
	// them, where growing from nothing took four.
	fields := make([]field, 0, 12)
	i := 1
	if b[i] == '}' {
		if i != len(b)-1 {
			return nil, errMalformed
		}
		return nil, nil
	}
	for i < len(b)-1 {
		if b[i] != '"' {
			return nil, errMalformed
		}
		end := scanString(b, i)
		if end < 0 || end >= len(b) || b[end] != ':' {
			return nil, errMalformed
		}
		key, err := memberName(b[i:end])
		if err != nil {
			return nil, err
		}
		vstart := end + 1
		vend := scanValue(b, vstart)
		if vend < 0 || vend > len(b)-1 {
			return nil, errMalformed
		}
		fields = append(fields, field{key: key, val: b[vstart:vend]})
		i = vend
		if b[i] == ',' {
			i++
			continue
		}
		if b[i] == '}' && i == len(b)-1 {
			return fields, nil
		}
		return nil, errMalformed
	}
	return nil, errMalformed
}

// memberName decodes q, the quoted name of a member. A name without
// escapes (every FHIR element's) is copied as it is, as strconv.Unquote
// would return it, without converting q to a string first.
func memberName(q []byte) (string, error) {
	if n := q[1 : len(q)-1]; bytes.IndexByte(n, '\\') < 0 && bytes.IndexByte(n, '\n') < 0 && utf8.Valid(n) {
		return string(n), nil
	}
	key, err := strconv.Unquote(string(q))
	if err != nil {
		// Escapes that Unquote does not accept (\/) go through JSON.
		if jerr := json.Unmarshal(q, &key); jerr != nil {
			return "", errMalformed
		}
	}
	return key, nil
}

// scanString returns the index just past the JSON string starting at b[i],
// or -1.
func scanString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// scanValue returns the index just past the compacted JSON value starting
// at b[i], or -1.
func scanValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return scanString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := scanString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// FormatInstant renders t as a FHIR instant in UTC with milliseconds.
func FormatInstant(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// Stamp returns body, a compacted resource accepted by Parse, with id set,
// meta.versionId and meta.lastUpdated set, and the members ordered
// resourceType, id, meta, then the rest as the client sent them. Any other
// meta the client sent (profile, tag, security, source) is kept.
func Stamp(body []byte, id string, version int64, lastUpdated time.Time) ([]byte, error) {
	fields, err := splitObject(body)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(body) + 96)
	out.WriteByte('{')
	var rt, meta []byte
	for _, f := range fields {
		switch f.key {
		case "resourceType":
			rt = f.val
		case "meta":
			meta = f.val
		}
	}
	out.WriteString(`"resourceType":`)
	out.Write(rt)
	out.WriteString(`,"id":`)
	out.WriteString(strconv.Quote(id))
	out.WriteString(`,"meta":{"versionId":"`)
	out.WriteString(strconv.FormatInt(version, 10))
	out.WriteString(`","lastUpdated":"`)
	out.WriteString(FormatInstant(lastUpdated))
	out.WriteByte('"')
	if len(meta) > 0 {
		mf, err := splitObject(meta)
		if err != nil {
			return nil, err
		}
		for _, f := range mf {
			if f.key == "versionId" || f.key == "lastUpdated" {
				continue
			}
			out.WriteByte(',')
			out.WriteString(strconv.Quote(f.key))
			out.WriteByte(':')
			out.Write(f.val)
		}
	}
	out.WriteByte('}')
	for _, f := range fields {
		switch f.key {
		case "resourceType", "id", "meta":
			continue
		}
		out.WriteByte(',')
		out.WriteString(strconv.Quote(f.key))
		out.WriteByte(':')
		out.Write(f.val)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// WithMeta returns body, a stamped resource, with its meta replaced by
// meta (a JSON object) and every other member kept in place.
func WithMeta(body, meta []byte) ([]byte, error) {
	fields, err := splitObject(body)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(strconv.Quote(f.key))
		out.WriteByte(':')
		if f.key == "meta" {
			out.Write(meta)
		} else {
			out.Write(f.val)
		}
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}
