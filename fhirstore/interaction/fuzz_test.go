package interaction_test

import (
	"encoding/json"
	"testing"
)

// FuzzBundle processes arbitrary Bundles. Whatever the input, the answer
// is a response Bundle or an error of the request's (never of the
// server's), and never a panic.
func FuzzBundle(f *testing.F) {
	for _, s := range []string{
		encounterTransaction,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x"}},{"resource":null,"request":{"method":"POST","url":"Patient"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"resource":1,"request":{"method":"POST","url":"Patient"}}]}`,
		`{"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/x/_history/0"}},{"request":{"method":"PUT","url":"Patient?"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"DELETE","url":"Patient?name=a"}},{"request":{"method":"GET","url":"/metadata"}}]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":{}}`, `{"resourceType":"Bundle","type":"transaction","entry":[1]}`,
		`{"resourceType":"Bundle","type":"transaction","entry":null}`, `[]`, `null`, `{`,
	} {
		f.Add(s)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		out, err := fx.eng.Transaction(fx.ctx, sb, []byte(body))
		if err != nil {
			if c := category(err); c.Server() {
				t.Fatalf("body %q: %v", body, err)
			}
			return
		}
		var res struct{ ResourceType string }
		if json.Unmarshal(out, &res) != nil || res.ResourceType != "Bundle" {
			t.Fatalf("body %q: answer %s", body, out)
		}
	})
}
