package fhirjson

import "bytes"

// VouchedHead reads the resourceType and id of body, compacted JSON, as
// encoding/json decodes an object into struct fields of those names
// (keys matched without regard to case, the last of repeated ones
// counting), without a decoder, for a caller that takes the resource on
// trust and needs only these two. hasID is whether body has an id.
//
// ok is false when the answer would take a decoder: body is not an
// object, a key holds an escape, a key matches either name in another
// case, or a value under either name is anything but a string of
// printable ASCII without escapes. The caller decodes such a body itself.
func VouchedHead(body []byte) (typ, id string, hasID, ok bool) {
	b := body
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return "", "", false, false
	}
	if len(b) == 2 {
		return "", "", false, true
	}
	var typVal, idVal []byte
	for i := 1; i < len(b); {
		if b[i] != '"' {
			return "", "", false, false
		}
		end := scanString(b, i)
		if end < 0 || end >= len(b) || b[end] != ':' {
			return "", "", false, false
		}
		key := b[i+1 : end-1]
		vstart := end + 1
		vend := scanValue(b, vstart)
		if vend < 0 || vend >= len(b) {
			return "", "", false, false
		}
		v := b[vstart:vend]
		switch {
		case string(key) == "resourceType" && plainASCII(v):
			typVal = v
		case string(key) == "id" && plainASCII(v):
			idVal = v
		case string(key) == "resourceType", string(key) == "id", bytes.IndexByte(key, '\\') >= 0,
			bytes.EqualFold(key, []byte("resourceType")), bytes.EqualFold(key, []byte("id")):
			return "", "", false, false
		}
		switch {
		case b[vend] == ',':
			i = vend + 1
		case vend == len(b)-1:
			if typVal != nil {
				typ = string(typVal[1 : len(typVal)-1])
			}
			if idVal != nil {
				id, hasID = string(idVal[1:len(idVal)-1]), true
			}
			return typ, id, hasID, true
		default:
			return "", "", false, false
		}
	}
	return "", "", false, false
}

// plainASCII reports whether v is a JSON string of printable ASCII
// without escapes, which reads as the bytes between its quotes.
func plainASCII(v []byte) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	for _, c := range v[1 : len(v)-1] {
		if c == '\\' || c == '"' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}
