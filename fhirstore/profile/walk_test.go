package profile

import (
	"fmt"
	"strings"
	"testing"
)

// matchByName is match as it was before choice nodes kept their member
// names: the reference the faster lookup must agree with.
func matchByName(kids []*node, name string) (*node, string) {
	for _, k := range kids {
		if k.name == name {
			if len(k.el.Type) == 1 {
				return k, k.el.Type[0].Code
			}
			if k.ref != nil && len(k.ref.el.Type) == 1 {
				return k, k.ref.el.Type[0].Code
			}
			return k, ""
		}
		if prefix := strings.TrimSuffix(k.name, "[x]"); prefix != k.name && strings.HasPrefix(name, prefix) {
			suffix := name[len(prefix):]
			for _, t := range k.el.Type {
				if upperFirst(t.Code) == suffix {
					return k, t.Code
				}
			}
		}
	}
	return nil, ""
}

func TestMatch_AgreesWithMatchingByBuiltNames(t *testing.T) {
	d := Core()
	checked := 0
	for _, typ := range []string{"Observation", "Extension", "Patient", "Questionnaire", "Composition", "Encounter", "DetectedIssue", "Condition", "ElementDefinition"} {
		c, err := d.compile(typ)
		if err != nil {
			t.Fatal(err)
		}
		var walk func(n *node)
		walk = func(n *node) {
			kids := n.kids()
			var names []string
			for _, k := range kids {
				names = append(names, k.name, k.name+"x", "_"+k.name, "unknownName")
				if p := k.choicePrefix(); p != "" {
					names = append(names, p, p+"Nothing", p+"string")
					for _, ty := range k.el.Type {
						names = append(names, p+upperFirst(ty.Code), p+upperFirst(ty.Code)+"x")
						if got := k.typeName(ty.Code); got != p+upperFirst(ty.Code) {
							t.Errorf("%s: typeName(%s) = %s", k.el.Path, ty.Code, got)
						}
					}
				}
			}
			for _, name := range names {
				k1, t1 := match(kids, name)
				k2, t2 := matchByName(kids, name)
				if k1 != k2 || t1 != t2 {
					t.Errorf("%s: match(%q) = %v %q, want %v %q", n.el.Path, name, k1, t1, k2, t2)
				}
				checked++
			}
			for _, k := range n.children {
				walk(k)
			}
		}
		walk(c.root)
	}
	if checked < 1000 {
		t.Fatalf("only %d names checked", checked)
	}
}

func TestCompile_BeyondTheFastMapStillCompiles(t *testing.T) {
	d := New()
	patient, err := d.compile("Patient")
	if err != nil {
		t.Fatal(err)
	}
	full := make(map[string]*compiled, maxFast)
	for i := range maxFast {
		full[fmt.Sprintf("filler%d", i)] = patient
	}
	d.fast.Store(&full)
	for _, name := range []string{"Observation", CorePrefix + "Patient|1", "Patient"} {
		c, err := d.compile(name)
		if err != nil || c == nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if m := d.fast.Load(); len(*m) != maxFast {
		t.Fatalf("the fast map holds %d entries, want %d", len(*m), maxFast)
	}
}
