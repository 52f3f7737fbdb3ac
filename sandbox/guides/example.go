package guides

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The convention of executable examples (CONTRIBUTING.md tells it to
// writers):
//
//   - A shell block whose info string says "example" (```sh example) is
//     one curl command, run against a started sandbox; the block right
//     after it, ```expect, says what its answer must be.
//   - Every other shell or HTTP block says "norun" (```sh norun): commands
//     that start servers, need a browser or a key, or show a pattern.
//   - Guides show the base URL DefaultBase; the runner substitutes the
//     sandbox it started.
const (
	exampleAttr = "example"
	norunAttr   = "norun"
	expectLang  = "expect"
	// DefaultBase is the sandbox's address as the guides write it.
	DefaultBase = "http://127.0.0.1:8080"
)

// shellLangs are the info-string languages of blocks that must say
// whether they run.
var shellLangs = []string{"sh", "bash", "shell", "console", "http", "curl"}

// Example is one executable example of a guide.
type Example struct {
	// File and Line locate the example's command in the guides.
	File string
	Line int
	// Command is the block's text, as written.
	Command string
	// Expect is the expect block.
	Expect Expect
}

// Expect is what an example's answer must be: its status, headers that
// must contain a text, and JSON fields.
type Expect struct {
	Line    int
	Status  int
	Headers []HeaderRule
	Fields  []FieldRule
}

// HeaderRule is "Name: text": the header must contain text; or
// "Name -> VAR": the header is present, and later examples of the guide
// may use $VAR for its value.
type HeaderRule struct {
	Line    int
	Name    string
	Value   string
	Capture string
}

// FieldRule is a rule on one field of a JSON answer, named by a path
// such as .entry[0].resource.id:
//
//	.path            the field is present
//	.path = value    its value is value (strings unquoted, numbers and booleans as JSON writes them)
//	.path ~ text     its value, as text, contains text
//	.path -> NAME    it is present, and later examples of the guide may use $NAME
type FieldRule struct {
	Line  int
	Path  string
	Op    string // "", "=", "~", "->"
	Value string
}

// Examples returns the executable examples of every guide, and an error
// naming each block that breaks the convention.
func (s *Set) Examples() ([]Example, error) {
	var all []Example
	var errs []error
	for _, g := range append([]*Guide{s.Index}, s.Guides...) {
		ex, err := ParseExamples(g.File, g.Source)
		all = append(all, ex...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return all, errors.Join(errs...)
}

// fence is a fenced code block as ParseExamples sees it.
type fence struct {
	line     int // of the first line of content
	lang     string
	attrs    map[string]bool
	body     string
	gapAfter string // text between this block and the next
}

// ParseExamples finds the examples of one Markdown file.
func ParseExamples(file string, src []byte) ([]Example, error) {
	fences, err := scanFences(src)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", file, err)
	}
	var out []Example
	var errs []error
	bad := func(line int, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, a...)))
	}
	for i, f := range fences {
		if f.lang == expectLang {
			if i == 0 || !fences[i-1].attrs[exampleAttr] {
				bad(f.line, "an expect block follows no ```sh example block")
			}
			continue
		}
		if !slices.Contains(shellLangs, f.lang) {
			continue
		}
		switch {
		case f.attrs[exampleAttr] && f.attrs[norunAttr]:
			bad(f.line, "a block is either example or norun")
			continue
		case f.attrs[norunAttr]:
			continue
		case !f.attrs[exampleAttr]:
			bad(f.line, "a %s block says whether it runs: ```%s example (with an expect block after it) or ```%s norun", f.lang, f.lang, f.lang)
			continue
		}
		if i+1 >= len(fences) || fences[i+1].lang != expectLang || strings.TrimSpace(f.gapAfter) != "" {
			bad(f.line, "an example is followed at once by its ```expect block")
			continue
		}
		exp, err := parseExpect(fences[i+1].line, fences[i+1].body)
		if err != nil {
			bad(fences[i+1].line, "%v", err)
			continue
		}
		out = append(out, Example{File: file, Line: f.line, Command: f.body, Expect: exp})
	}
	return out, errors.Join(errs...)
}

// scanFences finds the fenced code blocks of a Markdown text (``` or ~~~
// fences at the start of a line, up to three spaces in).
func scanFences(src []byte) ([]fence, error) {
	lines := strings.Split(string(bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))), "\n")
	var out []fence
	var gap strings.Builder
	for i := 0; i < len(lines); i++ {
		marker, info, ok := openFence(lines[i])
		if !ok {
			gap.WriteString(lines[i])
			gap.WriteByte('\n')
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].gapAfter = gap.String()
		}
		gap.Reset()
		lang, attrs := splitInfo(info)
		f := fence{line: i + 2, lang: lang, attrs: attrs}
		var body strings.Builder
		closed := false
		for i++; i < len(lines); i++ {
			t := strings.TrimLeft(lines[i], " ")
			if strings.HasPrefix(t, marker) && strings.Trim(t, marker[:1]) == "" {
				closed = true
				break
			}
			body.WriteString(lines[i])
			body.WriteByte('\n')
		}
		if !closed {
			return nil, fmt.Errorf("%d: a code block is never closed", f.line-1)
		}
		f.body = body.String()
		out = append(out, f)
	}
	return out, nil
}

// openFence reports whether line opens a fenced block, with its marker
// (``` or longer, or ~~~) and info string.
func openFence(line string) (marker, info string, ok bool) {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 || len(t) < 3 || (t[0] != '`' && t[0] != '~') {
		return "", "", false
	}
	n := 0
	for n < len(t) && t[n] == t[0] {
		n++
	}
	if n < 3 || (t[0] == '`' && strings.Contains(t[n:], "`")) {
		return "", "", false
	}
	return t[:n], strings.TrimSpace(t[n:]), true
}

// parseExpect reads an expect block; line is that of its first line.
func parseExpect(line int, body string) (Expect, error) {
	e := Expect{Line: line}
	for i, raw := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		l := strings.TrimSpace(raw)
		at := line + i
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "HTTP "):
			if e.Status != 0 {
				return e, fmt.Errorf("line %d: a second status", at)
			}
			if _, err := fmt.Sscanf(l, "HTTP %d", &e.Status); err != nil || e.Status < 100 || e.Status > 599 {
				return e, fmt.Errorf("line %d: %q: want HTTP and a status, e.g. HTTP 200", at, l)
			}
		case strings.HasPrefix(l, "."):
			r, err := parseFieldRule(l)
			if err != nil {
				return e, fmt.Errorf("line %d: %v", at, err)
			}
			r.Line = at
			e.Fields = append(e.Fields, r)
		case strings.Contains(l, " -> "):
			name, v, _ := strings.Cut(l, " -> ")
			name, v = strings.TrimSpace(name), strings.TrimSpace(v)
			if strings.ContainsAny(name, " \t:") || name == "" || !isVarName(v) {
				return e, fmt.Errorf("line %d: %q: want Header-Name -> VARIABLE", at, l)
			}
			e.Headers = append(e.Headers, HeaderRule{Line: at, Name: name, Capture: v})
		default:
			name, value, ok := strings.Cut(l, ":")
			if !ok || strings.ContainsAny(name, " \t") || name == "" {
				return e, fmt.Errorf("line %d: %q: want HTTP status, Header: text, or a .field rule", at, l)
			}
			e.Headers = append(e.Headers, HeaderRule{Line: at, Name: name, Value: strings.TrimSpace(value)})
		}
	}
	if e.Status == 0 {
		return e, errors.New("an expect block names the status first: HTTP 200")
	}
	return e, nil
}

func parseFieldRule(l string) (FieldRule, error) {
	for _, op := range []string{"->", "=", "~"} {
		if p, v, ok := strings.Cut(l, " "+op+" "); ok {
			r := FieldRule{Path: strings.TrimSpace(p), Op: op, Value: strings.TrimSpace(v)}
			if op == "->" && !isVarName(r.Value) {
				return r, fmt.Errorf("%q: a variable is upper-case letters, digits and _", r.Value)
			}
			_, err := splitPath(r.Path)
			return r, err
		}
	}
	if strings.ContainsAny(l, " \t") {
		return FieldRule{}, fmt.Errorf("%q: want .path, .path = value, .path ~ text or .path -> NAME", l)
	}
	_, err := splitPath(l)
	return FieldRule{Path: l}, err
}

func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r >= 'A' && r <= 'Z' || r == '_' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
