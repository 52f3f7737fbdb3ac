package profile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// render writes a parsed tree back as compact JSON from its members and
// items (not from raw), so that a tree whose arenas overlapped or were
// overwritten by a later parse shows.
func render(b *bytes.Buffer, v *jvalue) {
	switch v.kind {
	case kObject:
		b.WriteByte('{')
		for i, f := range v.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(f.name)
			b.Write(name)
			b.WriteByte(':')
			render(b, f.val)
		}
		b.WriteByte('}')
	case kArray:
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			render(b, it)
		}
		b.WriteByte(']')
	default:
		b.Write(v.raw)
	}
}

func TestParseJSON_TreesOfPooledParsesStayIntact(t *testing.T) {
	deep := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	tooDeep := strings.Repeat("{\"a\":", maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1)
	docs := []struct {
		doc   string
		valid bool
	}{
		{`{"resourceType":"Patient","name":[{"given":["A","B"],"family":"C"}],"active":true}`, true},
		{`{"a":[1,2,{"b":[]}],"c":{}}`, true},
		{`{"a":[1,2,{"b":[]}],"c":`, false},
		{tooDeep, false},
		{deep, true},
		{`{"url":"http://x/y:z","v":"a,b,[c"}`, true},
		{`[{"a":1},{"b":2},[3,[4,[5]]]]`, true},
		{`{"a":1}}`, false},
		{`"text"`, true},
		{`{"a" : [1, 2, {"b" : [3, 4]}], "c" : {"d" : 5, "e" : [6]}}`, true},
		{`{"a":"x\":y","b":["\":,","\":,"]}`, true},
		{`{"x":"\u00f8","y":[null,false]}`, true},
	}
	var trees []*jvalue
	var want []string
	for round := 0; round < 3; round++ {
		for _, d := range docs {
			v, err := parseJSON([]byte(d.doc))
			if (err == nil) != d.valid {
				t.Fatalf("%.40s: err = %v, want valid %v", d.doc, err, d.valid)
			}
			if err != nil {
				continue
			}
			var c bytes.Buffer
			if err := json.Compact(&c, []byte(d.doc)); err != nil {
				t.Fatal(err)
			}
			trees, want = append(trees, v), append(want, c.String())
		}
	}
	// Every tree is checked after all parses: none shares memory with another.
	for i, v := range trees {
		var b bytes.Buffer
		render(&b, v)
		if b.String() != want[i] {
			t.Errorf("tree %d renders as\n%s\nwant\n%s", i, b.String(), want[i])
		}
	}
}

var escapedSeeds = []string{
	`<div xmlns=\"http://www.w3.org/1999/xhtml\">Astrid R\u00f8nning</div>`,
	`a\\b\/c\b\f\n\r\t`,
	`\u0041\u00e6\u20AC\uFFFF`,
	`\ud83d\ude00`, `\ud83d`, `\u12`, `\x`, `\`, `\u00zz`, "\xff\\n", "ø\\n",
}

// unescape decodes as encoding/json does whatever it takes on.
func TestUnescape_AgreesWithEncodingJSON(t *testing.T) {
	for _, s := range escapedSeeds {
		checkUnescape(t, s)
	}
}

func FuzzUnescape(f *testing.F) {
	for _, s := range escapedSeeds {
		f.Add(s)
	}
	f.Fuzz(checkUnescape)
}

func checkUnescape(t *testing.T, body string) {
	// Only what the parser's scan lets through: no bare quote or control
	// character.
	ascii := true
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\\':
			i++
		case c == '"' || c < 0x20:
			return
		case c >= 0x80:
			ascii = false
		}
	}
	got, ok := unescape([]byte(body), ascii)
	if !ok {
		return
	}
	var want string
	if err := json.Unmarshal([]byte(`"`+body+`"`), &want); err != nil {
		t.Fatalf("%q: unescaped to %q, but encoding/json refuses it: %v", body, got, err)
	}
	if got != want {
		t.Fatalf("%q: unescaped to %q, want %q", body, got, want)
	}
}
