package guides

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Check compares an answer with the example's expect block. It returns
// each difference, and the variables the block captures.
func (e Expect) Check(status int, header http.Header, body []byte) (diffs []string, captured map[string]string) {
	if status != e.Status {
		diffs = append(diffs, fmt.Sprintf("line %d: status %d, want %d%s", e.Line, status, e.Status, outcomeHint(body)))
	}
	captured = map[string]string{}
	for _, h := range e.Headers {
		got := strings.Join(header.Values(h.Name), ", ")
		if h.Capture != "" {
			if got == "" {
				diffs = append(diffs, fmt.Sprintf("line %d: no %s header to keep as $%s", h.Line, h.Name, h.Capture))
			}
			captured[h.Capture] = got
			continue
		}
		if !strings.Contains(strings.ToLower(got), strings.ToLower(h.Value)) {
			diffs = append(diffs, fmt.Sprintf("line %d: %s is %q, want it to contain %q", h.Line, h.Name, got, h.Value))
		}
	}
	if len(e.Fields) == 0 {
		return diffs, captured
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return append(diffs, fmt.Sprintf("line %d: the answer is not JSON (%v), so no field can be checked", e.Fields[0].Line, err)), captured
	}
	for _, f := range e.Fields {
		v, err := lookup(doc, f.Path)
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("line %d: %s: %v", f.Line, f.Path, err))
			continue
		}
		got := scalarText(v)
		switch f.Op {
		case "=":
			if got != f.Value {
				diffs = append(diffs, fmt.Sprintf("line %d: %s is %s, want %s", f.Line, f.Path, got, f.Value))
			}
		case "~":
			if !strings.Contains(got, f.Value) {
				diffs = append(diffs, fmt.Sprintf("line %d: %s is %s, want it to contain %s", f.Line, f.Path, clip(got), f.Value))
			}
		case "->":
			captured[f.Value] = got
		}
	}
	return diffs, captured
}

// outcomeHint is the first diagnostics of an OperationOutcome or the
// error of an OAuth answer, to say why a status differs.
func outcomeHint(body []byte) string {
	var d struct {
		Issue []struct {
			Diagnostics string `json:"diagnostics"`
		} `json:"issue"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Detail      string `json:"detail"`
	}
	if json.Unmarshal(body, &d) != nil {
		return ""
	}
	switch {
	case len(d.Issue) > 0:
		return " (" + d.Issue[0].Diagnostics + ")"
	case d.Error != "":
		return " (" + d.Error + ": " + d.Description + ")"
	case d.Detail != "":
		return " (" + d.Detail + ")"
	}
	return ""
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// scalarText is a JSON value as a rule compares it: strings unquoted,
// everything else as JSON.
func scalarText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// pathStep is one step of a field path: a member name or an index.
type pathStep struct {
	name  string
	index int // -1 for a member
}

// splitPath reads .a.b[0].c.
func splitPath(p string) ([]pathStep, error) {
	if !strings.HasPrefix(p, ".") {
		return nil, fmt.Errorf("%q: a path starts with .", p)
	}
	var steps []pathStep
	rest := p
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			n := strings.IndexAny(rest, ".[")
			if n < 0 {
				n = len(rest)
			}
			if n == 0 {
				return nil, fmt.Errorf("%q: an empty member name", p)
			}
			steps = append(steps, pathStep{name: rest[:n], index: -1})
			rest = rest[n:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%q: [ without ]", p)
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil || i < 0 {
				return nil, fmt.Errorf("%q: an index is a number from 0", p)
			}
			steps = append(steps, pathStep{index: i})
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("%q: want .name or [n] at %q", p, rest)
		}
	}
	return steps, nil
}

// lookup finds path in a decoded JSON document.
func lookup(doc any, path string) (any, error) {
	steps, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	v := doc
	for i, s := range steps {
		at := func() string { return pathText(steps[:i]) }
		if s.index < 0 {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s is not an object", at())
			}
			if v, ok = m[s.name]; !ok {
				return nil, fmt.Errorf("%s has no %q", at(), s.name)
			}
			continue
		}
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s is not an array", at())
		}
		if s.index >= len(a) {
			return nil, fmt.Errorf("%s has %d items, no [%d]", at(), len(a), s.index)
		}
		v = a[s.index]
	}
	return v, nil
}

func pathText(steps []pathStep) string {
	if len(steps) == 0 {
		return "the answer"
	}
	var b strings.Builder
	for _, s := range steps {
		if s.index < 0 {
			b.WriteString("." + s.name)
		} else {
			fmt.Fprintf(&b, "[%d]", s.index)
		}
	}
	return b.String()
}

var varRef = regexp.MustCompile(`\$\{?([A-Z_][A-Z0-9_]*)\}?`)

// With returns the block with $NAME in its expected values replaced by
// the variables earlier examples captured (an unknown name stays as it
// is, and so fails to match), and DefaultBase, plain or URL-encoded, by
// base.
func (e Expect) With(vars map[string]string, base string) Expect {
	rebase := strings.NewReplacer(DefaultBase, base, url.QueryEscape(DefaultBase), url.QueryEscape(base))
	sub := func(s string) string {
		s = rebase.Replace(s)
		return varRef.ReplaceAllStringFunc(s, func(m string) string {
			if v, ok := vars[varRef.FindStringSubmatch(m)[1]]; ok {
				return v
			}
			return m
		})
	}
	out := e
	out.Headers = slices.Clone(e.Headers)
	for i := range out.Headers {
		out.Headers[i].Value = sub(out.Headers[i].Value)
	}
	out.Fields = slices.Clone(e.Fields)
	for i := range out.Fields {
		if out.Fields[i].Op != "->" {
			out.Fields[i].Value = sub(out.Fields[i].Value)
		}
	}
	return out
}
