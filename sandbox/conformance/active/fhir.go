package active

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/sandbox/conformance"
)

// Specification sections the FHIR API tests cite.
const (
	citeRead     = "https://hl7.org/fhir/R4/http.html#read"
	citeVersion  = "https://hl7.org/fhir/R4/http.html#versioning"
	citeParams   = "https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.searchParam"
	citeRefuse   = "https://hl7.org/fhir/R4/capabilitystatement-definitions.html#CapabilityStatement.rest.resource.interaction"
	citeSearchs  = "https://hl7.org/fhir/R4/bundle.html#searchset"
	citeCount    = "https://hl7.org/fhir/R4/search.html#count"
	citePaging   = "https://hl7.org/fhir/R4/http.html#paging"
	pageSize     = 2
	maxPages     = 4
	paramsSample = 4
)

// coreTypes are the resource types the suite reads and searches, when
// the server declares them.
var coreTypes = []string{"Patient", "Observation", "Encounter", "Condition"}

func fhirTests() []Test {
	access := []Need{NeedCapability, NeedAccess}
	return []Test{
		{ID: "active.capability-read-works", Title: "Reading a resource of each declared core type by id works",
			Cite: citeRead, Severity: conformance.SeverityError, Needs: access, Run: testReadWorks},
		{ID: "active.read-etag-version", Title: "A read answers an ETag that is the resource's meta.versionId, and Last-Modified",
			Cite: citeVersion, Severity: conformance.SeverityWarning, Needs: access, Run: testETag},
		{ID: "active.capability-search-params-work", Title: "Declared search parameters and includes of the core types are accepted",
			Cite: citeParams, Severity: conformance.SeverityError, Needs: access, Run: testSearchParams},
		{ID: "active.capability-undeclared-refused", Title: "An interaction the CapabilityStatement does not declare is refused",
			Cite: citeRefuse, Severity: conformance.SeverityError, Needs: access, Run: testUndeclared},
		{ID: "active.search-searchset-bundle", Title: "A search answers a searchset Bundle with a self link and a total not below its matches",
			Cite: citeSearchs, Severity: conformance.SeverityError, Needs: access, Run: testSearchset},
		{ID: "active.search-count-honoured", Title: "A search honours _count",
			Cite: citeCount, Severity: conformance.SeverityError, Needs: access, Run: testCount},
		{ID: "active.search-paging-next", Title: "Following next links pages through new matches without duplicates",
			Cite: citePaging, Severity: conformance.SeverityError, Needs: access, Run: testPaging},
		{ID: "active.search-paging-complete", Title: "Paging through a patient's search yields its total, each match once",
			Cite: citePaging, Severity: conformance.SeverityError, Needs: access, Run: testPagingComplete},
	}
}

// declared returns the core types the server declares with interaction.
func (s *Session) declared(interaction string) []string {
	var out []string
	for _, t := range coreTypes {
		if r := s.caps.Resources[t]; r != nil && r.Interactions[interaction] {
			out = append(out, t)
		}
	}
	return out
}

// bundle is a Bundle's entries and links as the suite reads them.
type bundle struct {
	Type  string
	Total int
	// HasTotal is whether Bundle.total is present.
	HasTotal bool
	Links    map[string]string
	// Matches are "Type/id" of the entries in search mode match (or with
	// no mode); Others the rest.
	Matches, Others []string
	Resources       []map[string]any
}

// parseBundle reads a Bundle; nil when the body is not one.
func parseBundle(m map[string]any) *bundle {
	if m == nil || str(m, "resourceType") != "Bundle" {
		return nil
	}
	b := &bundle{Type: str(m, "type"), Links: map[string]string{}}
	if t, ok := m["total"].(float64); ok {
		b.Total, b.HasTotal = int(t), true
	}
	for _, l := range list(m, "link") {
		lo, _ := l.(map[string]any)
		if rel := str(lo, "relation"); rel != "" {
			b.Links[rel] = str(lo, "url")
		}
	}
	for _, e := range list(m, "entry") {
		eo, _ := e.(map[string]any)
		res := obj(eo, "resource")
		if res == nil {
			continue
		}
		ref := str(res, "resourceType") + "/" + str(res, "id")
		if mode := str(obj(eo, "search"), "mode"); mode == "" || mode == "match" {
			b.Matches = append(b.Matches, ref)
		} else {
			b.Others = append(b.Others, ref)
		}
		b.Resources = append(b.Resources, res)
	}
	return b
}

// search runs a search with the backend token and reads the Bundle.
func (s *Session) search(ctx context.Context, u string) (*reply, *bundle, error) {
	r, err := s.get(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	return r, parseBundle(r.object()), nil
}

func testReadWorks(ctx context.Context, s *Session) conformance.Result {
	types := s.declared("read")
	if len(types) == 0 {
		return skip("the server declares read on none of %s", strings.Join(coreTypes, ", "))
	}
	var read, problems []string
	for _, t := range types {
		if !s.caps.Resources[t].Interactions["search-type"] {
			continue
		}
		_, b, err := s.search(ctx, t+"?_count=1")
		if err != nil || b == nil || len(b.Matches) == 0 {
			continue // nothing of the type to read; search is judged elsewhere
		}
		ref := b.Matches[0]
		r, err := s.get(ctx, ref)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: no answer", ref))
		case r.Status != 200:
			problems = append(problems, fmt.Sprintf("%s: %d", ref, r.Status))
		default:
			m := r.object()
			if got := str(m, "resourceType") + "/" + str(m, "id"); got != ref {
				problems = append(problems, fmt.Sprintf("%s answered %s", ref, got))
			} else {
				read = append(read, ref)
			}
		}
	}
	switch {
	case len(problems) > 0:
		return fail("%s", strings.Join(problems, "; "))
	case len(read) == 0:
		return skip("no resource of %s found to read", strings.Join(types, ", "))
	}
	return pass("read %s", strings.Join(read, ", "))
}

// probeValue is a well-formed value of a search parameter type, or ""
// for types the suite does not probe.
func probeValue(typ string) string {
	switch typ {
	case "string":
		return "a"
	case "token":
		return "hps-active-probe"
	case "date":
		return "ge2000-01-01"
	case "reference":
		return missingID
	case "number", "quantity":
		return "1"
	case "uri":
		return "http://example.org/hps-active-probe"
	}
	return ""
}

// sample picks up to n of params spread over the list, the same each run.
func sample(params []searchParam, n int) []searchParam {
	var usable []searchParam
	for _, p := range params {
		if probeValue(p.Type) == "" || (strings.HasPrefix(p.Name, "_") && p.Name != "_id" && p.Name != "_lastUpdated") {
			continue
		}
		usable = append(usable, p)
	}
	slices.SortFunc(usable, func(a, b searchParam) int { return strings.Compare(a.Name, b.Name) })
	if len(usable) <= n {
		return usable
	}
	out := make([]searchParam, 0, n)
	for i := range n {
		out = append(out, usable[i*len(usable)/n])
	}
	return out
}

func testSearchParams(ctx context.Context, s *Session) conformance.Result {
	types := s.declared("search-type")
	if len(types) == 0 {
		return skip("the server declares search on none of %s", strings.Join(coreTypes, ", "))
	}
	tried := 0
	var problems []string
	for _, t := range types {
		var queries []string
		for _, p := range sample(s.caps.Resources[t].Search, paramsSample) {
			queries = append(queries, t+"?"+url.Values{p.Name: {probeValue(p.Type)}}.Encode())
		}
		if inc := s.caps.Resources[t].Includes; len(inc) > 0 {
			queries = append(queries, t+"?"+url.Values{"_include": {inc[0]}, "_count": {"1"}}.Encode())
		}
		for _, q := range queries {
			tried++
			r, err := s.get(ctx, q)
			switch {
			case err != nil:
				problems = append(problems, q+": no answer")
			case r.Status != 200:
				problems = append(problems, fmt.Sprintf("%s: %d", q, r.Status))
			}
		}
	}
	if tried == 0 {
		return skip("the core types declare no search parameter of a type the suite probes, nor an include")
	}
	if len(problems) > 0 {
		return fail("%d of %d declared parameters refused: %s", len(problems), tried, strings.Join(problems, "; "))
	}
	return pass("%d declared search parameters and includes of %s accepted", tried, strings.Join(types, ", "))
}

// readOnlyProbes are interactions the suite may try when undeclared:
// none writes anything (a delete names an id no server holds).
var readOnlyProbes = []struct{ interaction, method, path string }{
	{"search-type", "GET", "%s?_count=1"},
	{"history-type", "GET", "%s/_history?_count=1"},
	{"read", "GET", "%s/" + missingID},
	{"history-instance", "GET", "%s/" + missingID + "/_history"},
	{"delete", "DELETE", "%s/" + missingID},
}

func testUndeclared(ctx context.Context, s *Session) conformance.Result {
	for _, t := range s.caps.Order {
		for _, p := range readOnlyProbes {
			if s.caps.Resources[t].Interactions[p.interaction] {
				continue
			}
			u := fmt.Sprintf(p.path, t)
			r, err := s.send(ctx, request{Method: p.method, URL: u, Token: s.token})
			if err != nil {
				return fail("%s %s: no answer: %v", p.method, u, err)
			}
			if r.Status < 400 {
				return fail("%s is not declared for %s, yet %s %s answered %d", p.interaction, t, p.method, u, r.Status)
			}
			return pass("%s is not declared for %s, and %s %s answered %d", p.interaction, t, p.method, u, r.Status)
		}
	}
	for _, p := range []struct{ interaction, path string }{
		{"history-system", "_history?_count=1"}, {"search-system", "?_type=Patient&_count=1"},
	} {
		if s.caps.System[p.interaction] {
			continue
		}
		r, err := s.get(ctx, s.base+"/"+p.path)
		if err != nil {
			return fail("GET %s: no answer: %v", p.path, err)
		}
		if r.Status < 400 {
			return fail("%s is not declared, yet GET %s answered %d", p.interaction, p.path, r.Status)
		}
		return pass("%s is not declared, and GET %s answered %d", p.interaction, p.path, r.Status)
	}
	// Every type declares every interaction probed: a type the server
	// does not know must be refused then.
	r, err := s.get(ctx, "HpsActiveNoSuchType?_count=1")
	if err != nil {
		return fail("no answer: %v", err)
	}
	if r.Status < 400 {
		return fail("a search of the undeclared type HpsActiveNoSuchType answered %d", r.Status)
	}
	return pass("every declared type declares the interactions probed; the undeclared type HpsActiveNoSuchType answered %d", r.Status)
}

// searchType is the core type the search tests search: the first
// declared with search, Observation first since it has the most.
func (s *Session) searchType() string {
	for _, t := range []string{"Observation", "Encounter", "Condition", "Patient"} {
		if r := s.caps.Resources[t]; r != nil && r.Interactions["search-type"] {
			return t
		}
	}
	return ""
}

func testSearchset(ctx context.Context, s *Session) conformance.Result {
	types := s.declared("search-type")
	if len(types) == 0 {
		return skip("the server declares search on none of %s", strings.Join(coreTypes, ", "))
	}
	var seen []string
	for _, t := range types {
		q := t + "?_count=5"
		r, b, err := s.search(ctx, q)
		switch {
		case err != nil:
			return fail("%s: no answer: %v", q, err)
		case r.Status != 200:
			return fail("%s answered %d", q, r.Status)
		case b == nil:
			return fail("%s answered no Bundle", q)
		case b.Type != "searchset":
			return fail("%s: the Bundle is of type %q, not searchset", q, b.Type)
		case b.Links["self"] == "":
			return fail("%s: the searchset has no self link", q)
		case b.HasTotal && b.Total < len(b.Matches):
			return fail("%s: total is %d, but the page holds %d matches", q, b.Total, len(b.Matches))
		case !b.HasTotal:
			// R4 leaves total out when counting is costly; a client that
			// needs it asks with _total=accurate.
			seen = append(seen, fmt.Sprintf("%s (no total)", t))
		default:
			seen = append(seen, fmt.Sprintf("%s total %d", t, b.Total))
		}
	}
	return pass("searchsets with a self link: %s", strings.Join(seen, ", "))
}

func testCount(ctx context.Context, s *Session) conformance.Result {
	t := s.searchType()
	if t == "" {
		return skip("the server declares search on none of %s", strings.Join(coreTypes, ", "))
	}
	q := fmt.Sprintf("%s?_count=%d", t, pageSize)
	r, b, err := s.search(ctx, q)
	switch {
	case err != nil:
		return fail("no answer: %v", err)
	case r.Status != 200 || b == nil:
		return fail("%s answered %d without a Bundle", q, r.Status)
	case len(b.Matches) > pageSize:
		return fail("%s answered %d matches", q, len(b.Matches))
	case b.HasTotal && b.Total > pageSize && len(b.Matches) < pageSize:
		return fail("%s answered %d matches of %d", q, len(b.Matches), b.Total)
	}
	return pass("%s answered %d matches", q, len(b.Matches))
}

// sameOrigin says whether u is on the server under test, so that the
// suite sends its token there.
func (s *Session) sameOrigin(u string) bool {
	a, err1 := url.Parse(u)
	b, err2 := url.Parse(s.base)
	return err1 == nil && err2 == nil && a.Scheme == b.Scheme && a.Host == b.Host
}

func testPaging(ctx context.Context, s *Session) conformance.Result {
	t := s.searchType()
	if t == "" {
		return skip("the server declares search on none of %s", strings.Join(coreTypes, ", "))
	}
	q := fmt.Sprintf("%s?_count=%d", t, pageSize)
	r, b, err := s.search(ctx, q)
	switch {
	case err != nil:
		return fail("no answer: %v", err)
	case r.Status != 200 || b == nil:
		return fail("%s answered %d without a Bundle", q, r.Status)
	case b.HasTotal && b.Total <= pageSize:
		return skip("%s has %d matches, too few to page", t, b.Total)
	case b.Links["next"] == "":
		if b.HasTotal {
			return fail("%s answered %d of %d matches and no next link", q, len(b.Matches), b.Total)
		}
		return skip("%s answered no next link and no total: nothing shows there is more", q)
	}
	seen := map[string]bool{}
	for _, m := range b.Matches {
		seen[m] = true
	}
	pages := 1
	for next := b.Links["next"]; next != "" && pages < maxPages; pages++ {
		if !s.sameOrigin(next) {
			return fail("page %d's next link %q is not on the server under test (not followed)", pages, next)
		}
		r, pb, err := s.search(ctx, next)
		switch {
		case err != nil:
			return fail("page %d: no answer: %v", pages+1, err)
		case r.Status != 200 || pb == nil:
			return fail("page %d answered %d without a Bundle", pages+1, r.Status)
		case len(pb.Matches) == 0:
			return fail("page %d, behind a next link, holds no match", pages+1)
		case len(pb.Matches) > pageSize:
			return fail("page %d holds %d matches, more than _count=%d", pages+1, len(pb.Matches), pageSize)
		}
		for _, m := range pb.Matches {
			if seen[m] {
				return fail("page %d repeats %s", pages+1, m)
			}
			seen[m] = true
		}
		next = pb.Links["next"]
	}
	return pass("%d pages of %s, %d distinct matches", pages, t, len(seen))
}

// Bounds of the complete paging: a search of one patient's resources
// with a total in (completePage, completeMax], pages of completePage.
const (
	completePage = 3
	completeMax  = 60
)

func testPagingComplete(ctx context.Context, s *Session) conformance.Result {
	ids := s.patientIDs(ctx)
	if len(ids) == 0 {
		return skip("no patient found to search the resources of")
	}
	for _, id := range ids[:min(3, len(ids))] {
		for _, t := range []string{"Condition", "Encounter", "Observation"} {
			if r := s.caps.Resources[t]; r == nil || !r.Interactions["search-type"] {
				continue
			}
			q := t + "?" + url.Values{"patient": {id}, "_count": {fmt.Sprint(completePage)}, "_total": {"accurate"}}.Encode()
			r, b, err := s.search(ctx, q)
			if err != nil || r.Status != 200 || b == nil || !b.HasTotal || b.Total <= completePage || b.Total > completeMax {
				continue
			}
			return s.pageThrough(ctx, q, b)
		}
	}
	return skip("no patient's Condition, Encounter or Observation search has a total (_total=accurate) between %d and %d", completePage+1, completeMax)
}

// pageThrough follows first's next links to the end and compares the
// distinct matches with its total.
func (s *Session) pageThrough(ctx context.Context, q string, first *bundle) conformance.Result {
	seen := map[string]bool{}
	b := first
	for page := 1; ; page++ {
		for _, m := range b.Matches {
			if seen[m] {
				return fail("%s: page %d repeats %s", q, page, m)
			}
			seen[m] = true
		}
		next := b.Links["next"]
		if next == "" {
			break
		}
		if page > completeMax/completePage+1 {
			return fail("%s: still a next link after %d pages of a total of %d", q, page, first.Total)
		}
		if !s.sameOrigin(next) {
			return fail("%s: page %d's next link %q is not on the server under test (not followed)", q, page, next)
		}
		r, pb, err := s.search(ctx, next)
		switch {
		case err != nil:
			return fail("%s: page %d: no answer: %v", q, page+1, err)
		case r.Status != 200 || pb == nil:
			return fail("%s: page %d answered %d without a Bundle", q, page+1, r.Status)
		}
		b = pb
	}
	if len(seen) != first.Total {
		return fail("%s: total %d, but the pages held %d distinct matches", q, first.Total, len(seen))
	}
	return pass("%s: %d matches, each once, as total says", q, len(seen))
}

func testETag(ctx context.Context, s *Session) conformance.Result {
	for _, t := range s.declared("read") {
		cr := s.caps.Resources[t]
		if cr.Versioning == "no-version" || !cr.Interactions["search-type"] {
			continue
		}
		_, b, err := s.search(ctx, t+"?_count=1")
		if err != nil || b == nil || len(b.Matches) == 0 {
			continue
		}
		r, err := s.get(ctx, b.Matches[0])
		if err != nil || r.Status != 200 {
			return fail("%s could not be read", b.Matches[0])
		}
		version := str(obj(r.object(), "meta"), "versionId")
		etag := r.Header.Get("ETag")
		switch {
		case version == "":
			return fail("%s has no meta.versionId although %s declares versioning %q", b.Matches[0], t, cr.Versioning)
		case etag != `W/"`+version+`"`:
			return fail("%s: ETag %q, not W/\"%s\" (its meta.versionId)", b.Matches[0], etag, version)
		case r.Header.Get("Last-Modified") == "":
			return fail("%s: no Last-Modified", b.Matches[0])
		}
		return pass("%s: ETag %s, its meta.versionId, and a Last-Modified", b.Matches[0], etag)
	}
	return skip("no versioned resource of %s found to read", strings.Join(coreTypes, ", "))
}
