package profile

import (
	"bytes"
	"testing"
)

// TestValidate_KeepsNothingOfTheDocument: string values alias the document
// while Validate runs; a caller that reuses its buffer afterwards must not
// change what was kept (compiled definitions looked up by names the
// document gave) nor the issues already returned.
func TestValidate_KeepsNothingOfTheDocument(t *testing.T) {
	d := New()
	doc := []byte(`{"resourceType":"Patient","meta":{"profile":["http://example.org/unknown-profile"]},"gender":"nonsense","extension":[{"url":"http://example.org/ext/x","valueString":"v"}]}`)
	issues := d.Validate(doc, Options{})
	before := dump(issues)
	for i := range doc {
		doc[i] = 'x'
	}
	if after := dump(issues); after != before {
		t.Fatalf("issues changed with the buffer:\n%s\n---\n%s", before, after)
	}
	again := []byte(`{"resourceType":"Patient","meta":{"profile":["http://example.org/unknown-profile"]},"gender":"nonsense","extension":[{"url":"http://example.org/ext/x","valueString":"v"}]}`)
	if got := dump(d.Validate(again, Options{})); got != before {
		t.Errorf("a second validation differs:\n%s\n---\n%s", before, got)
	}
	if !bytes.Contains([]byte(before), []byte("nonsense")) {
		t.Errorf("the outcome does not name the wrong code: %s", before)
	}
}
