package fhirjson

import (
	"encoding/json"
	"strconv"
	"testing"
)

// memberName decodes a member's name as the decoding it replaced did:
// strconv.Unquote, and JSON for the escapes Unquote does not know.
func TestMemberName_DecodesAsUnquoteThenJSON(t *testing.T) {
	old := func(q []byte) (string, error) {
		key, err := strconv.Unquote(string(q))
		if err != nil {
			if jerr := json.Unmarshal(q, &key); jerr != nil {
				return "", errMalformed
			}
		}
		return key, nil
	}
	tests := []struct {
		name string
		q    string
	}{
		{"plain", `"resourceType"`},
		{"empty", `""`},
		{"unicode escape", `"\u0061ctive"`},
		{"solidus escape", `"a\/b"`},
		{"tab escape", `"a\tb"`},
		{"raw non-ASCII", `"naïve"`},
		{"invalid UTF-8", "\"a\xffb\""},
		{"raw newline", "\"a\nb\""},
		{"raw tab", "\"a\tb\""},
		{"bad escape", `"a\qb"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gerr := memberName([]byte(tt.q))
			want, werr := old([]byte(tt.q))
			if got != want || (gerr == nil) != (werr == nil) {
				t.Errorf("memberName(%q) = %q, %v; want %q, %v", tt.q, got, gerr, want, werr)
			}
		})
	}
}
