package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"

	"hpsandbox/fhirstore/outcome"
)

// bom is the UTF-8 byte-order mark. JSON text has none (RFC 8259 §8.1),
// but editors and tools on Windows write one, and other FHIR servers
// ignore it; so does the sandbox.
var bom = []byte{0xEF, 0xBB, 0xBF}

// TrimBOM returns body without a leading UTF-8 byte-order mark.
func TrimBOM(body []byte) []byte { return bytes.TrimPrefix(body, bom) }

// CheckJSON returns nil when body (after a byte-order mark) is valid JSON,
// and otherwise an outcome.Incorrect error that names the line and column
// of the fault, as Parse does.
func CheckJSON(body []byte) *outcome.Error {
	body = TrimBOM(body)
	if json.Valid(body) {
		return nil
	}
	return syntaxError(body)
}

// syntaxError describes body, which is not valid JSON, as an outcome.Incorrect error naming
// where the decoder gave up: "invalid JSON at line 3, column 14: invalid
// character '}' looking for beginning of object key string". Only the
// error path pays for the second decoding that finds the offset
// (json.Compact reports none).
func syntaxError(body []byte) *outcome.Error {
	var raw json.RawMessage
	err := json.Unmarshal(body, &raw)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		// Not a syntax error (or none at all): say so without a position.
		return outcome.New(outcome.Incorrect, outcome.Structure, "invalid JSON: %v", err)
	}
	line, col := Position(body, se.Offset)
	return outcome.New(outcome.Incorrect, outcome.Structure, "invalid JSON at line %d, column %d: %v", line, col, se)
}

// Position returns the line and column, both from 1, of the byte that a
// decoder read last after reading offset bytes of body (the offending byte
// of json.SyntaxError.Offset, or the last one at an unexpected end).
// Columns count characters, as editors do, not bytes: a byte inside a
// multi-byte character is in that character's column.
func Position(body []byte, offset int64) (line, col int) {
	p := int(min(max(offset-1, 0), int64(len(body))))
	start := bytes.LastIndexByte(body[:p], '\n') + 1
	col = 1
	for i := start; i < p; col++ {
		_, size := utf8.DecodeRune(body[i:])
		if i+size > p {
			break // p is inside this character
		}
		i += size
	}
	return bytes.Count(body[:p], []byte{'\n'}) + 1, col
}
