package profile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gofhir/fhirpath/types"

	"hpsandbox/fhirstore/outcome"
)

// Issue is one finding of a validation: an OperationOutcome.issue and the
// id of the rule it breaks (an invariant key such as "obs-7", a slice name,
// or a rule of the engine such as "cardinality").
type Issue struct {
	outcome.Issue
	Rule string `json:"-"`
}

// Options say what to validate against beyond the resource's own type.
type Options struct {
	// Profiles are canonical URLs the resource must conform to, in
	// addition to those its meta.profile declares.
	Profiles []string
	// IgnoreMetaProfile skips the profiles the resource declares.
	IgnoreMetaProfile bool
}

// OutcomeIssues returns the issues as OperationOutcome issues.
func OutcomeIssues(issues []Issue) []outcome.Issue {
	out := make([]outcome.Issue, len(issues))
	for i, is := range issues {
		out[i] = is.Issue
	}
	return out
}

// HasErrors reports whether any issue is an error or fatal.
func HasErrors(issues []Issue) bool {
	for _, is := range issues {
		if is.Severity == outcome.ErrorLevel || is.Severity == outcome.Fatal {
			return true
		}
	}
	return false
}

// Validate checks a resource (JSON) against its type's definition, the
// profiles it declares and opts.Profiles. The issues come sorted by
// expression, severity and text; an empty result means the resource conforms.
func (d *Definitions) Validate(resource []byte, opts Options) []Issue {
	r := newRun(d, 0)
	defer r.release()
	v, err := parseJSON(resource)
	if err != nil {
		r.add(outcome.Fatal, outcome.Structure, noPath, "json", "The content is not valid JSON: %v", err)
		return r.finish()
	}
	if v.kind != kObject {
		r.add(outcome.Fatal, outcome.Structure, noPath, "json", "A resource must be a JSON object, not %s", v.kind)
		return r.finish()
	}
	r.resource(v, noPath, opts.Profiles, !opts.IgnoreMetaProfile, nil, true, false)
	return r.finish()
}

// run is the state of one validation.
type run struct {
	d      *Definitions
	issues []Issue
	// depth counts nested conformance checks (slices by profile), whose
	// issues are dropped.
	depth int
	// unchecked are the invariants the engine could not evaluate, reported once.
	unchecked map[string]bool
	// div is the last narrative found well-formed, and whether it has
	// content (txt-2), which its check learnt on the way.
	div        string
	divContent bool
	divKnown   bool
	// Scratch stacks of the walk, reused across objects.
	members []member
	items   []item
	paths   []pathID
	segs    []pathSeg
}

// runs keeps the scratch stacks of finished runs for the next ones.
var runs = sync.Pool{New: func() any { return new(run) }}

func newRun(d *Definitions, depth int) *run {
	r := runs.Get().(*run)
	r.d, r.depth = d, depth
	return r
}

// release returns the run to the pool; its issues belong to the caller.
func (r *run) release() {
	r.d, r.issues, r.unchecked = nil, nil, nil
	r.div, r.divContent, r.divKnown = "", false, false
	r.members, r.items, r.paths, r.segs = r.members[:0], r.items[:0], r.paths[:0], r.segs[:0]
	runs.Put(r)
}

func (r *run) add(sev outcome.Severity, code outcome.Code, path pathID, rule, format string, args ...any) {
	is := Issue{Issue: outcome.Issue{Severity: sev, Code: code, Diagnostics: fmt.Sprintf(format, args...)}, Rule: rule}
	if path != noPath {
		is.Expression = []string{r.text(path)}
	}
	r.issues = append(r.issues, is)
}

// finish sorts and removes duplicates (a profile repeats its base's rules).
func (r *run) finish() []Issue {
	expr := func(is Issue) string {
		if len(is.Expression) > 0 {
			return is.Expression[0]
		}
		return ""
	}
	slices.SortStableFunc(r.issues, func(a, b Issue) int {
		return cmp.Or(
			cmp.Compare(expr(a), expr(b)),
			cmp.Compare(sevRank(a.Severity), sevRank(b.Severity)),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Diagnostics, b.Diagnostics),
		)
	})
	out := r.issues[:0]
	for i, is := range r.issues {
		if i > 0 {
			p := r.issues[i-1]
			if expr(p) == expr(is) && p.Severity == is.Severity && p.Rule == is.Rule && p.Diagnostics == is.Diagnostics {
				continue
			}
		}
		out = append(out, is)
	}
	return out
}

func sevRank(s outcome.Severity) int {
	switch s {
	case outcome.Fatal:
		return 0
	case outcome.ErrorLevel:
		return 1
	case outcome.Warning:
		return 2
	}
	return 3
}

// resource validates a resource at path (noPath for the root) against its
// type (when base is true), the given profiles and, when meta is true, its
// meta.profile. contained is true for a contained resource.
func (r *run) resource(v *jvalue, path pathID, profiles []string, meta bool, rootOf *resourceCtx, base, contained bool) {
	rt := v.get("resourceType")
	if rt == nil || rt.kind != kString || rt.str == "" {
		r.add(outcome.ErrorLevel, outcome.Structure, path, "resourceType", "The resource has no resourceType")
		return
	}
	if path == noPath {
		path = r.root(strings.Clone(rt.str)) // rt.str aliases the document; issues outlive it
	}
	def, err := r.d.compile(rt.str)
	if err != nil || def.sd.Kind != "resource" || def.sd.Derivation == "constraint" {
		r.add(outcome.ErrorLevel, outcome.Structure, path, "resourceType", "Unknown resource type '%s'", rt.str)
		return
	}
	ctx := &resourceCtx{value: v, typ: rt.str, parent: rootOf, contained: contained}
	if base {
		r.element(v, def.root, rt.str, path, true, ctx)
		r.resourceRules(v, rt.str, path, ctx)
		if !contained {
			r.narrativeLinks(v, path)
		}
	}
	if base {
		profiles = append(profiles, r.d.globalProfiles(rt.str)...)
	}
	if meta {
		for _, p := range v.get("meta").get("profile").list() {
			if p.kind != kString {
				continue
			}
			if _, err := r.d.compile(p.str); err != nil {
				r.add(outcome.Warning, outcome.Processing, r.child(r.child(path, "meta"), "profile"), "profile",
					"Profile %s was not checked: it is not known here", p.str)
				continue
			}
			profiles = append(profiles, p.str)
		}
	}
	seen := map[string]bool{}
	for _, p := range profiles {
		p = Canonical(p)
		if seen[p] {
			continue
		}
		seen[p] = true
		c, err := r.d.compile(p)
		if err != nil {
			r.add(outcome.ErrorLevel, outcome.NotFound, path, "profile", "Unable to resolve the profile %s: %v", p, err)
			continue
		}
		if c.sd.Type != rt.str && c.sd.Type != "Resource" && c.sd.Type != "DomainResource" {
			r.add(outcome.ErrorLevel, outcome.Structure, path, "profile",
				"The profile %s is for %s, not %s", p, c.sd.Type, rt.str)
			continue
		}
		r.element(v, c.root, rt.str, path, false, ctx)
	}
}

// resourceCtx is the resource an element belongs to, for %resource and
// %rootResource in invariants.
type resourceCtx struct {
	value  *jvalue
	typ    string
	parent *resourceCtx
	coll   types.Collection
	// contained is true for a contained resource, whose %rootResource is
	// the resource that contains it; a Bundle entry is its own root.
	contained bool
}

func (c *resourceCtx) root() *resourceCtx {
	for c.contained && c.parent != nil {
		c = c.parent
	}
	return c
}

// typeName turns a type code into the name a supplier reads: System.String
// for the FHIRPath system types of primitive values.
func typeName(code string) string {
	if strings.HasPrefix(code, "http://hl7.org/fhirpath/System.") {
		return "System." + strings.TrimPrefix(code, "http://hl7.org/fhirpath/System.")
	}
	return code
}
