package guides

import (
	"net/http"
	"testing"
	"unicode/utf8"
)

func FuzzParseCurl(f *testing.F) {
	for _, s := range []string{
		`curl -s http://127.0.0.1:8080/fhir/metadata`,
		"curl -s -X POST http://127.0.0.1:8080/fhir \\\n -H 'Content-Type: application/fhir+json' -d '{\"a\":1}'",
		`curl -su "operator:$PW" -G http://127.0.0.1:8080/a --data-urlencode 'q=a b' | jq .`,
		`curl "http://127.0.0.1:8080/${ID}" # x`,
	} {
		f.Add(s)
	}
	vars := map[string]string{"PW": "p", "ID": "i"}
	f.Fuzz(func(t *testing.T, cmd string) {
		r, err := ParseCurl(cmd, "http://127.0.0.1:1", vars)
		if err != nil {
			return
		}
		if _, err := r.HTTP(); err != nil && r.Method != "" && validMethod(r.Method) {
			t.Fatalf("%q parsed but makes no request: %v", cmd, err)
		}
	})
}

func validMethod(m string) bool {
	for _, c := range m {
		if c <= ' ' || c >= 0x7f || c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' || c == ';' || c == ':' || c == '\\' || c == '"' || c == '/' || c == '[' || c == ']' || c == '?' || c == '=' || c == '{' || c == '}' {
			return false
		}
	}
	return m != ""
}

func FuzzParseExamples(f *testing.F) {
	f.Add([]byte("```sh example\ncurl -s http://127.0.0.1:8080/\n```\n\n```expect\nHTTP 200\nETag -> T\n.a[0].b = c\n.id -> ID\n```\n"))
	f.Add([]byte("````md\n```sh\n```\n````\n~~~sh norun\nx\n~~~\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		ex, _ := ParseExamples("f.md", src)
		for _, e := range ex {
			// Checking any answer against a parsed block never panics.
			e.Expect.With(map[string]string{"ID": "1"}, "http://h").Check(200, http.Header{}, src)
			e.Expect.Check(404, http.Header{"Etag": {"x"}}, []byte(`{"a":[{"b":"c"}],"id":1}`))
		}
	})
}

func FuzzSearch(f *testing.F) {
	set, err := Load(Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, q := range []string{"revinclude device", "İstanbul ß", "\xff\xfe", "a b c d e f g h i j k l m n"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		hits := set.Search(q)
		if len(hits) > maxHits {
			t.Fatalf("%d hits", len(hits))
		}
		for _, h := range hits {
			if !utf8.ValidString(h.Snippet) && utf8.ValidString(h.Section.Text) {
				t.Fatalf("snippet %q of valid text is not UTF-8", h.Snippet)
			}
		}
	})
}

func FuzzParseHL7Examples(f *testing.F) {
	f.Add([]byte("```hl7 example\nMSH|^~\\&|A||B|C|20260301120000+0100||ORU^R01^ORU_R01|1|P|2.6\n```\n```expect\nMSA-1 = AA\nERR-3 ~ 205\n```\n"))
	f.Add([]byte("```hl7\nPID|1\n```\n```hl7 norun\nx\n```\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		ex, _ := ParseHL7Examples("f.md", src)
		for _, e := range ex {
			// Checking any answer against a parsed block never panics.
			e.Check(src)
			e.Check([]byte("MSH|^~\\&|S||R||20260301120000+0100||ACK|1|P|2.6\rMSA|AA|1\r"))
		}
	})
}
