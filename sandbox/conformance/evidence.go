package conformance

import (
	"fmt"
	"net/url"
	"strings"

	"hpsandbox/sandbox/requestlog"
)

// view is what the checks read of an entry beyond its fields, worked out
// once per evidence.
type view struct {
	// rest is the path below the FHIR base ("/Patient/1", "/metadata"),
	// and fhir whether the entry was an exchange with the FHIR API.
	rest string
	fhir bool
	// typ is the resource type the path names, "" for the base itself,
	// metadata and the well-known documents.
	typ string
	// own says the entry is the client's; anonymous ones name no client.
	own bool
}

// views returns the views of ev's entries, in their order. They are
// worked out on first use; change ev.Entries afterwards and they are
// stale, so an Evidence is built first and then judged.
func (ev *Evidence) views() []view {
	ev.once.Do(func() {
		base := basePath(ev.FHIRBase)
		ev.derived = make([]view, len(ev.Entries))
		for i := range ev.Entries {
			e := &ev.Entries[i]
			w := &ev.derived[i]
			w.own = ev.ClientID != "" && e.ClientID == ev.ClientID
			if e.OAuth != nil || e.Connector != "" {
				continue
			}
			w.rest, w.fhir = below(e.Path, base)
			if w.fhir {
				w.typ = resourceType(w.rest)
			}
		}
	})
	return ev.derived
}

// basePath is the path of a FHIR base URL ("/sandboxes/acme/fhir"), or
// "/fhir" when there is none.
func basePath(base string) string {
	if base == "" {
		return "/fhir"
	}
	u, err := url.Parse(base)
	if err != nil || u.Path == "" {
		return "/fhir"
	}
	return strings.TrimRight(u.Path, "/")
}

// below returns the part of path below base and whether path is at or
// below it.
func below(path, base string) (string, bool) {
	rest, ok := strings.CutPrefix(path, base)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	return rest, true
}

// resourceType is the first segment of rest when it names a resource
// type (upper case first, as every FHIR type is).
func resourceType(rest string) string {
	seg := strings.TrimPrefix(rest, "/")
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	if seg == "" || seg[0] < 'A' || seg[0] > 'Z' {
		return ""
	}
	return seg
}

// isDiscovery reports whether rest is the CapabilityStatement or the
// SMART configuration.
func isDiscovery(rest string) bool {
	return rest == "/metadata" || rest == "/.well-known/smart-configuration"
}

// queryParams parses an entry's recorded query; a query that does not
// parse yields what could be read of it.
func queryParams(e *requestlog.Entry) url.Values {
	v, _ := url.ParseQuery(e.Query)
	return v
}

// capRefs keeps at most MaxEvidence references.
func capRefs(refs []string) []string {
	if len(refs) > MaxEvidence {
		return refs[:MaxEvidence:MaxEvidence]
	}
	return refs
}

// refs collects the references of entries, up to MaxEvidence, and
// counts them all.
type refs struct {
	ids []string
	n   int
}

func (r *refs) add(e *requestlog.Entry) {
	r.n++
	if len(r.ids) < MaxEvidence {
		r.ids = append(r.ids, Ref(e))
	}
}

func pass(r refs, format string, args ...any) Result {
	return Result{Status: Pass, Message: fmt.Sprintf(format, args...), Evidence: r.ids}
}

func fail(r refs, format string, args ...any) Result {
	return Result{Status: Fail, Message: fmt.Sprintf(format, args...), Evidence: r.ids}
}

func skip(format string, args ...any) Result {
	return Result{Status: Skip, Message: fmt.Sprintf(format, args...)}
}

// judgeEach is a check that looks at the client's entries one at a
// time: those about returns true for (noun names them), which fail when
// ok returns false (rule says what ok asks). It passes when every such
// entry is ok, and skips when there is none.
func judgeEach(ev *Evidence, about func(e *requestlog.Entry, v *view) bool, ok func(e *requestlog.Entry, v *view) bool,
	noun, rule string) Result {
	var good, bad refs
	views := ev.views()
	for i := range ev.Entries {
		e, v := &ev.Entries[i], &views[i]
		if !v.own || !about(e, v) {
			continue
		}
		if ok(e, v) {
			good.add(e)
		} else {
			bad.add(e)
		}
	}
	switch {
	case bad.n > 0:
		return fail(bad, "%d of %d %s do not %s", bad.n, bad.n+good.n, noun, rule)
	case good.n > 0:
		return pass(good, "all %d %s %s", good.n, noun, rule)
	}
	return skip("no %s in the evidence", noun)
}
