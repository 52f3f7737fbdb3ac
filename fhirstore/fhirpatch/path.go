package fhirpatch

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// node is one element a path selected, with where it lives so that an
// operation can change it: obj[key] holds it, at idx when that is an array.
type node struct {
	obj map[string]any
	key string
	idx int // -1: obj[key] is the element itself
	val any
	// names are the element names from the resource down to this node,
	// for cardinality look-ups.
	names []string
}

// step is one part of a path: a name, an index, where(), first() or last().
type step struct {
	kind  string // "name", "index", "where", "first", "last"
	name  string
	index int
	cond  []condition // where(a='x' and b='y')
}

type condition struct {
	path  []string
	value string
}

// parsePath reads the subset of FHIRPath that patch paths use:
// Type.name.name[0].where(system='x' and code='y').first().last().
func parsePath(expr string) (typ string, steps []step, err error) {
	bad := func(why string) error { return fmt.Errorf("%w: path %q: %s", ErrInvalid, expr, why) }
	s := strings.TrimSpace(expr)
	i := 0
	readName := func() string {
		start := i
		for i < len(s) && (unicode.IsLetter(rune(s[i])) || unicode.IsDigit(rune(s[i])) || s[i] == '_') {
			i++
		}
		return s[start:i]
	}
	typ = readName()
	if typ == "" || !unicode.IsUpper(rune(typ[0])) {
		return "", nil, bad("must start with the resource type")
	}
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			name := readName()
			if name == "" {
				return "", nil, bad("empty name")
			}
			if i < len(s) && s[i] == '(' {
				end := strings.IndexByte(s[i:], ')')
				if end < 0 {
					return "", nil, bad("unclosed (")
				}
				arg := s[i+1 : i+end]
				i += end + 1
				switch name {
				case "first", "last":
					if strings.TrimSpace(arg) != "" {
						return "", nil, bad(name + "() takes no argument")
					}
					steps = append(steps, step{kind: name})
				case "where":
					conds, err := parseConditions(arg)
					if err != nil {
						return "", nil, bad(err.Error())
					}
					steps = append(steps, step{kind: "where", cond: conds})
				default:
					return "", nil, bad("function " + name + "() is not supported in patch paths")
				}
				continue
			}
			steps = append(steps, step{kind: "name", name: name})
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return "", nil, bad("unclosed [")
			}
			n, err := strconv.Atoi(strings.TrimSpace(s[i+1 : i+end]))
			if err != nil || n < 0 {
				return "", nil, bad("index must be a non-negative integer")
			}
			steps = append(steps, step{kind: "index", index: n})
			i += end + 1
		default:
			return "", nil, bad(fmt.Sprintf("unexpected %q", s[i]))
		}
	}
	return typ, steps, nil
}

// parseConditions reads "a.b = 'x' and c = 'y'".
func parseConditions(arg string) ([]condition, error) {
	var out []condition
	for _, part := range strings.Split(arg, " and ") {
		lhs, rhs, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("where() supports only name = 'literal' joined by and")
		}
		lhs, rhs = strings.TrimSpace(lhs), strings.TrimSpace(rhs)
		if len(rhs) >= 2 && rhs[0] == '\'' && rhs[len(rhs)-1] == '\'' {
			rhs = strings.ReplaceAll(rhs[1:len(rhs)-1], `\'`, `'`)
		} else if rhs != "true" && rhs != "false" {
			if _, err := strconv.ParseFloat(rhs, 64); err != nil {
				return nil, fmt.Errorf("where() compares with a 'string', a number, true or false")
			}
		}
		if lhs == "" {
			return nil, fmt.Errorf("where() needs a name before =")
		}
		out = append(out, condition{path: strings.Split(lhs, "."), value: rhs})
	}
	return out, nil
}

// eval applies steps to the resource root.
func eval(root map[string]any, steps []step) []node {
	nodes := []node{{val: root, idx: -1}}
	for _, st := range steps {
		var next []node
		switch st.kind {
		case "name":
			for _, n := range nodes {
				next = append(next, children(n, st.name)...)
			}
		case "index":
			if st.index < len(nodes) {
				next = []node{nodes[st.index]}
			}
		case "first":
			if len(nodes) > 0 {
				next = nodes[:1]
			}
		case "last":
			if len(nodes) > 0 {
				next = nodes[len(nodes)-1:]
			}
		case "where":
			for _, n := range nodes {
				if matches(n, st.cond) {
					next = append(next, n)
				}
			}
		}
		nodes = next
	}
	return nodes
}

// children returns the elements called name below n; a choice element
// (value) also matches its typed key (valueQuantity).
func children(n node, name string) []node {
	m, ok := n.val.(map[string]any)
	if !ok {
		return nil
	}
	key := name
	v, ok := m[key]
	if !ok {
		for k := range m {
			if strings.HasPrefix(k, name) && dataTypes[k[len(name):]] {
				key, v, ok = k, m[k], true
				break
			}
		}
	}
	if !ok {
		return nil
	}
	names := append(append([]string(nil), n.names...), name)
	if arr, isArr := v.([]any); isArr {
		out := make([]node, len(arr))
		for i, e := range arr {
			out[i] = node{obj: m, key: key, idx: i, val: e, names: names}
		}
		return out
	}
	return []node{{obj: m, key: key, idx: -1, val: v, names: names}}
}

func matches(n node, conds []condition) bool {
	for _, c := range conds {
		cur := []node{n}
		for _, name := range c.path {
			var next []node
			for _, x := range cur {
				next = append(next, children(x, name)...)
			}
			cur = next
		}
		found := false
		for _, x := range cur {
			if literal(x.val) == c.value {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func literal(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return "\x00"
}

// dataTypes are the suffixes of choice elements (value[x] → valueQuantity):
// the FHIR R4 data types, capitalised.
var dataTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`Base64Binary Boolean Canonical Code Date DateTime Decimal Id Instant
		Integer Markdown Oid PositiveInt String Time UnsignedInt Uri Url Uuid Address Age Annotation
		Attachment CodeableConcept Coding ContactPoint Count Distance Duration HumanName Identifier Money
		Period Quantity Range Ratio Reference SampledData Signature Timing ContactDetail Contributor
		DataRequirement Expression ParameterDefinition RelatedArtifact TriggerDefinition UsageContext
		Dosage Meta`) {
		m[t] = true
	}
	return m
}()
