package adminapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/sandbox/tenant"
)

// doc is the OpenAPI document, decoded with numbers kept as written.
var doc = func() map[string]any {
	dec := json.NewDecoder(bytes.NewReader(openAPI))
	dec.UseNumber()
	var d map[string]any
	if err := dec.Decode(&d); err != nil {
		panic("openapi.json: " + err.Error())
	}
	return d
}()

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations returns the document's operations by "METHOD /path".
func operations() map[string]map[string]any {
	ops := map[string]map[string]any{}
	for p, item := range doc["paths"].(map[string]any) {
		for m, o := range item.(map[string]any) {
			if slices.Contains(httpMethods, m) {
				ops[strings.ToUpper(m)+" "+p] = o.(map[string]any)
			}
		}
	}
	return ops
}

// resolve follows a local $ref ("#/components/schemas/App").
func resolve(node any) any {
	for {
		m, ok := node.(map[string]any)
		if !ok {
			return node
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return node
		}
		node = pointer(ref)
		if node == nil {
			panic("openapi.json: unresolved " + ref)
		}
	}
}

// pointer returns what a "#/…" JSON pointer of the document names, or nil.
func pointer(ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var node any = doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[tok]
	}
	return node
}

func TestOpenAPI_IsJSONOfVersion31WithEveryReferenceResolving(t *testing.T) {
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	var walk func(at string, node any)
	walk = func(at string, node any) {
		switch n := node.(type) {
		case map[string]any:
			if ref, ok := n["$ref"].(string); ok && pointer(ref) == nil {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
			for k, v := range n {
				walk(at+"/"+k, v)
			}
		case []any:
			for i, v := range n {
				walk(fmt.Sprintf("%s/%d", at, i), v)
			}
		}
	}
	walk("#", doc)
	ids := map[string]bool{}
	for key, op := range operations() {
		id, _ := op["operationId"].(string)
		if id == "" || ids[id] {
			t.Errorf("%s: operationId %q is missing or not unique", key, id)
		}
		ids[id] = true
	}
	if pointer("#/components/securitySchemes/basicAuth/scheme") != "basic" {
		t.Error("the document does not describe HTTP Basic security")
	}
}

// ginPath turns /sandboxes/:id into /sandboxes/{id}.
var ginParam = regexp.MustCompile(`:([a-z_]+)`)

func TestOpenAPI_DocumentsEveryMountedRouteAndNoOther(t *testing.T) {
	engine := gin.New()
	a := New(Deps{Tenants: &tenant.Service{}})
	a.Mount(engine.Group("/admin/api"))
	mounted := map[string]bool{}
	for _, r := range engine.Routes() {
		p := ginParam.ReplaceAllString(strings.TrimPrefix(r.Path, "/admin/api"), "{$1}")
		mounted[r.Method+" "+p] = true
	}
	ops := operations()
	for key := range mounted {
		if ops[key] == nil {
			t.Errorf("%s is mounted but not in openapi.json", key)
		}
	}
	for key := range ops {
		if !mounted[key] {
			t.Errorf("openapi.json describes %s, which is not mounted", key)
		}
	}
	for _, r := range a.routes() {
		key := r.method + " " + ginParam.ReplaceAllString(r.path, "{$1}")
		if op := ops[key]; op != nil && op["operationId"] != r.op {
			t.Errorf("%s: operationId %v in openapi.json, %s in routes", key, op["operationId"], r.op)
		}
	}
}

func TestOpenAPI_ProblemTypesAreResponsesOfTheirStatus(t *testing.T) {
	for kind, k := range kinds {
		if pointer("#/components/responses/"+kind) == nil {
			t.Errorf("problem type %s is not a response of openapi.json", kind)
		}
		for key, op := range operations() {
			for status, r := range op["responses"].(map[string]any) {
				if r.(map[string]any)["$ref"] == "#/components/responses/"+kind && status != strconv.Itoa(k.status) {
					t.Errorf("%s answers %s with status %s, but a %s problem has status %d", key, kind, status, kind, k.status)
				}
			}
		}
	}
}

func TestOpenAPI_IsServedWithoutCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.must(http.StatusOK, "GET", "/openapi.json", "", nil)
	if !bytes.Equal(a.body, openAPI) {
		t.Error("the served document differs from the embedded one")
	}
	var p Problem
	e.must(http.StatusNotFound, "GET", "/sandboxes/nope", opUser, nil).json(t, &p)
	if p.Type != "/admin/api/openapi.json#/components/responses/NotFound" {
		t.Errorf("problem type %q, want a reference into the served document", p.Type)
	}
}

// pathTemplate matches a request path to a path of the document.
func pathTemplate(path string) (string, bool) {
	path, _, _ = strings.Cut(path, "?")
	segs := strings.Split(path, "/")
	for tmpl := range doc["paths"].(map[string]any) {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		match := true
		for i := range ts {
			if !strings.HasPrefix(ts[i], "{") && ts[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			return tmpl, true
		}
	}
	return "", false
}

// checkDocumented fails t unless the answer's status, content type and
// body are what the document says the operation answers.
func checkDocumented(t testing.TB, method, path string, a answer) {
	t.Helper()
	tmpl, ok := pathTemplate(path)
	if !ok {
		if a.status != http.StatusNotFound {
			t.Errorf("%s %s: answered %d for a path openapi.json does not have", method, path, a.status)
		}
		return
	}
	op := operations()[method+" "+tmpl]
	if op == nil {
		return // gin's own 404 or 405
	}
	r, ok := op["responses"].(map[string]any)[strconv.Itoa(a.status)]
	if !ok {
		if a.status == http.StatusInternalServerError || a.status == http.StatusServiceUnavailable {
			return // documented for every operation in info.description
		}
		t.Errorf("%s %s: status %d is not documented for %s", method, path, a.status, op["operationId"])
		return
	}
	resp := resolve(r).(map[string]any)
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(a.body) > 0 {
			t.Errorf("%s %s: %d has a body, but openapi.json documents none: %s", method, path, a.status, a.body)
		}
		return
	}
	headers, _ := resp["headers"].(map[string]any)
	for h := range headers {
		if a.header.Get(h) == "" {
			t.Errorf("%s %s: %d lacks the documented %s header", method, path, a.status, h)
		}
	}
	mt, _, _ := mime.ParseMediaType(a.header.Get("Content-Type"))
	media, ok := content[mt].(map[string]any)
	if !ok {
		t.Errorf("%s %s: %d answered %s, not a documented content type", method, path, a.status, mt)
		return
	}
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return // a rendering (JUnit XML, HTML), not JSON to validate
	}
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Errorf("%s %s: %d body is not JSON: %v", method, path, a.status, err)
		return
	}
	for _, msg := range validate(media["schema"], v, "$") {
		t.Errorf("%s %s: %d body does not match openapi.json: %s", method, path, a.status, msg)
	}
}

// validate checks v against a schema of the document, strictly: keys the
// schema does not name are errors too, so that the document cannot fall
// behind the code. It knows the parts of JSON Schema the document uses.
func validate(schema, v any, at string) []string {
	s := resolve(schema).(map[string]any)
	props, required := map[string]any{}, []string{}
	collect(s, props, &required)
	typ, _ := s["type"].(string)
	if typ == "" && len(props) > 0 {
		typ = "object"
	}
	bad := func(format string, args ...any) []string { return []string{at + ": " + fmt.Sprintf(format, args...)} }
	switch typ {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return bad("want an object, got %T", v)
		}
		if len(props) == 0 {
			return nil // a free-form object (a JWK Set)
		}
		var errs []string
		for _, k := range required {
			if _, ok := m[k]; !ok {
				errs = append(errs, at+": lacks required "+k)
			}
		}
		for k, val := range m {
			ps, ok := props[k]
			if !ok {
				errs = append(errs, at+": "+k+" is not documented")
				continue
			}
			errs = append(errs, validate(ps, val, at+"."+k)...)
		}
		return errs
	case "array":
		list, ok := v.([]any)
		if !ok {
			return bad("want an array, got %T", v)
		}
		var errs []string
		for i, item := range list {
			errs = append(errs, validate(s["items"], item, fmt.Sprintf("%s[%d]", at, i))...)
		}
		return errs
	case "string":
		str, ok := v.(string)
		if !ok {
			return bad("want a string, got %T", v)
		}
		if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, any(str)) {
			return bad("%q is not one of %v", str, enum)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return bad("%q does not match %s", str, p)
		}
		if s["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return bad("%q is not a date-time", str)
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return bad("want a %s, got %T", typ, v)
		}
		if _, err := n.Int64(); typ == "integer" && err != nil {
			return bad("%s is not an integer", n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return bad("want a boolean, got %T", v)
		}
	}
	return nil
}

// collect gathers the properties and required keys of s and its allOf.
func collect(s map[string]any, props map[string]any, required *[]string) {
	if p, ok := s["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v
		}
	}
	if r, ok := s["required"].([]any); ok {
		for _, k := range r {
			*required = append(*required, k.(string))
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			collect(resolve(sub).(map[string]any), props, required)
		}
	}
}

func TestNoRoute_AnswersAProblemThatPointsToTheDocument(t *testing.T) {
	engine := gin.New()
	a := New(Deps{Tenants: &tenant.Service{}})
	a.Mount(engine.Group("/admin/api"))
	engine.NoRoute(a.NoRoute)
	rec := httptest.NewRecorder()
	engine.ServeHTTP(rec, httptest.NewRequest("PUT", "/admin/api/sandboxes", nil))
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(rec.Body.String(), "/admin/api/openapi.json lists them") {
		t.Errorf("%d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}
