// Package fhirjson parses, validates and stamps FHIR R4 resources in JSON.
//
// Validation is google/fhir's jsonformat (R4): unknown elements, wrong
// primitive formats, missing required elements and wrong reference targets
// are refused, each as an OperationOutcome issue naming the element path.
// The stored form is the client's own JSON, compacted, with id and meta set
// by Stamp; it is not re-marshalled from protocol buffers, which costs more
// than validation itself and would reorder every object.
//
// It does not store anything or know about HTTP.
package fhirjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	crpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"

	"hpsandbox/fhirstore/outcome"
)

// Resource is a validated resource: its type, its id (empty when the body
// has none) and its compacted JSON.
type Resource struct {
	Type string
	ID   string
	Body []byte
}

var (
	typeList []string
	typeSet  map[string]bool
	// containedName is the full name of google/fhir's ContainedResource.
	containedName protoreflect.FullName
	initOnce      sync.Once
	parser        *jsonformat.Unmarshaller
	initErr       error
)

func setup() {
	initOnce.Do(func() {
		contained := (&crpb.ContainedResource{}).ProtoReflect().Descriptor()
		containedName = contained.FullName()
		oneof := contained.Oneofs().ByName("oneof_resource")
		typeSet = make(map[string]bool, oneof.Fields().Len())
		resourceMessages = make(map[string]protoreflect.MessageDescriptor, oneof.Fields().Len())
		var roots []protoreflect.MessageDescriptor
		for i := 0; i < oneof.Fields().Len(); i++ {
			m := oneof.Fields().Get(i).Message()
			name := string(m.Name())
			typeList = append(typeList, name)
			typeSet[name] = true
			resourceMessages[name] = m
			roots = append(roots, m)
		}
		sort.Strings(typeList)
		findHolders(roots)
		parser, initErr = jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
		if initErr == nil {
			// Deeply nested input is refused before it can exhaust the stack.
			parser.MaxNestingDepth = 64
		}
	})
}

// Types returns the names of all FHIR R4 resource types, sorted.
func Types() []string {
	setup()
	return append([]string(nil), typeList...)
}

// IsType reports whether name is a FHIR R4 resource type.
func IsType(name string) bool {
	setup()
	return typeSet[name]
}

// IDRule says in words which ids ValidID accepts, for diagnostics.
const IDRule = "[A-Za-z0-9.-]{1,64}, not only dots"

// ValidID reports whether id can name a resource: FHIR's id pattern
// [A-Za-z0-9\-\.]{1,64}, and not made only of dots. The pattern allows "."
// and "..", but they are dot segments, which URL resolution removes (RFC
// 3986 §5.2.4), so that [type]/.. is read by every client as the base
// itself; longer runs of dots carry no name either and are refused alike.
// It is called for every reference $everything follows, so it scans bytes
// rather than running a regular expression.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	dots := 0
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return dots < len(id)
}

// Parse validates body as a FHIR R4 resource and returns it compacted; a
// leading UTF-8 byte-order mark is ignored.
// The error is an *outcome.Error: outcome.Incorrect for input that cannot be
// parsed as FHIR (not JSON, unknown elements, wrong primitive formats),
// outcome.Unprocessable for a
// parsed resource that breaks the specification's rules (missing required
// elements, wrong reference targets, malformed ids).
func Parse(body []byte) (*Resource, error) {
	setup()
	if initErr != nil {
		return nil, fmt.Errorf("fhirjson: set-up: %w", initErr)
	}
	body = TrimBOM(body)
	c, ok := Compact(body)
	if !ok {
		return nil, syntaxError(body)
	}
	if len(c) == len(body) {
		// Compact already: the stored body must not share the caller's
		// array.
		c = bytes.Clone(c)
	}
	head, fields, err := peekHead(c)
	if err != nil {
		return nil, err
	}
	if !IsType(head.resourceType) {
		return nil, outcome.New(outcome.Incorrect, outcome.NotSupported,
			"%q is not a FHIR R4 resource type", head.resourceType).At("resourceType")
	}
	if oe := validate(c, fields, head.resourceType, 0); oe != nil {
		return nil, oe
	}
	if oe := checkReferences(head.resourceType, c); oe != nil {
		return nil, oe
	}
	return &Resource{Type: head.resourceType, ID: head.id, Body: c}, nil
}

// validate validates body, a compacted resource of type typ whose members
// are fields: the parser reads it without its resource-typed elements
// (see resources.go), and each of those is validated on its own. A parse
// failure anywhere makes the error incorrect, else a broken rule
// unprocessable; the issues of all are reported, ordered by path. nesting
// is how deep body lies within other resources.
func validate(body []byte, fields []field, typ string, nesting int) *outcome.Error {
	var inners []inner
	shell, err := takeResources(body, fields, resourceMessages[typ], typ, 0, &inners)
	if err != nil {
		return outcome.New(outcome.Incorrect, outcome.Structure, "%s is not a well-formed JSON object", typ)
	}
	var issues []outcome.Issue
	var cat outcome.Category
	rep := &reporter{}
	if _, err := parser.UnmarshalWithErrorReporter(shell, rep); err != nil {
		issues, cat = parseError(err).Issues, outcome.Incorrect
	} else if len(rep.issues) > 0 {
		issues, cat = rep.issues, outcome.Unprocessable
	}
	for _, in := range inners {
		if oe := validateInner(in, nesting+1); oe != nil {
			issues = append(issues, oe.Issues...)
			if cat == "" || oe.Category == outcome.Incorrect {
				cat = oe.Category
			}
		}
	}
	if cat == "" {
		return nil
	}
	sortIssues(issues)
	return &outcome.Error{Category: cat, Issues: issues}
}

type head struct{ resourceType, id string }

// peekHead reads resourceType and id from a compacted JSON object without
// parsing the rest, and returns its members.
func peekHead(b []byte) (head, []field, error) {
	var h head
	if len(b) == 0 || b[0] != '{' {
		return h, nil, outcome.New(outcome.Incorrect, outcome.Structure, "body must be a JSON object holding one FHIR resource")
	}
	fields, err := splitObject(b)
	if err != nil {
		return h, nil, outcome.New(outcome.Incorrect, outcome.Structure, "body is not valid JSON: %v", err)
	}
	for _, f := range fields {
		switch f.key {
		case "resourceType":
			var ok bool
			if h.resourceType, ok = plainString(f.val); !ok {
				if err := json.Unmarshal(f.val, &h.resourceType); err != nil {
					return h, nil, outcome.New(outcome.Incorrect, outcome.Structure, "resourceType must be a string").At("resourceType")
				}
			}
		case "id":
			// A non-string id is reported by the validator with its path.
			var ok bool
			if h.id, ok = plainString(f.val); !ok {
				_ = json.Unmarshal(f.val, &h.id)
			}
		}
	}
	if h.resourceType == "" {
		return h, nil, outcome.New(outcome.Incorrect, outcome.Required, "body has no resourceType").At("resourceType")
	}
	return h, fields, nil
}

// plainString is the JSON string v when it holds no escapes and no
// control characters, read without a decoder; false for any other value.
func plainString(v []byte) (string, bool) {
	if !plainASCII(v) {
		return "", false
	}
	return string(v[1 : len(v)-1]), true
}

// reporter collects google/fhir's extended-validation findings as issues.
type reporter struct{ issues []outcome.Issue }

func (r *reporter) ReportValidationError(path string, err error) error {
	r.issues = append(r.issues, issueFor(path, err, outcome.ErrorLevel))
	return nil
}

func (r *reporter) ReportValidationWarning(path string, err error) error {
	// Warnings do not refuse a write; the sandbox keeps the response lean.
	return nil
}

var requiredField = regexp.MustCompile(`^missing required field "([^"]+)"$`)

func issueFor(path string, err error, sev outcome.Severity) outcome.Issue {
	d := describe(err)
	if d.path != "" {
		path = d.path
	}
	is := outcome.Issue{Severity: sev, Code: outcome.Invalid, Diagnostics: d.details}
	switch {
	case d.details == "unknown field":
		is.Code = outcome.Structure
		if name, err := strconv.Unquote(d.diagnostics); err == nil && name != "" {
			path = joinPath(path, name)
			is.Diagnostics = fmt.Sprintf("unknown element %q", name)
		}
	case requiredField.MatchString(d.details):
		is.Code = outcome.Required
		name := requiredField.FindStringSubmatch(d.details)[1]
		path = joinPath(path, lowerFirst(name))
		is.Diagnostics = fmt.Sprintf("missing required element %q", lowerFirst(name))
	case strings.HasPrefix(d.details, "invalid") || strings.HasPrefix(d.details, "expected"):
		is.Code = outcome.Value
	}
	if d.diagnostics != "" && is.Diagnostics == d.details && d.details != "invalid JSON" {
		is.Diagnostics += ": " + d.diagnostics
	}
	if path != "" {
		is.Expression = []string{path}
	}
	return is
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// parseError turns a jsonformat parse failure into a 400 naming every path.
func parseError(err error) *outcome.Error {
	var errs []error
	rv := reflect.ValueOf(err)
	if rv.Kind() == reflect.Slice {
		for i := 0; i < rv.Len(); i++ {
			if e, ok := rv.Index(i).Interface().(error); ok {
				errs = append(errs, e)
			}
		}
	}
	if len(errs) == 0 {
		errs = []error{err}
	}
	oe := &outcome.Error{Category: outcome.Incorrect}
	for _, e := range errs {
		is := issueFor("", e, outcome.ErrorLevel)
		if is.Code == outcome.Invalid && len(is.Expression) == 0 {
			is.Code = outcome.Structure
		}
		oe.Issues = append(oe.Issues, is)
	}
	sortIssues(oe.Issues)
	return oe
}

// sortIssues orders issues by element path: the validator walks maps, so
// its order differs from run to run, and clients and golden files want one.
func sortIssues(issues []outcome.Issue) {
	sort.SliceStable(issues, func(i, j int) bool {
		return strings.Join(issues[i].Expression, ",") < strings.Join(issues[j].Expression, ",")
	})
}

type described struct{ path, details, diagnostics string }

// describe reads the exported Path, Details and Diagnostics fields of
// jsonformat's error type, which lives in an internal package and so can
// only be reached by reflection. The field name of an unknown element is only
// in Diagnostics. Any other error is described by its message.
func describe(err error) described {
	for e := err; e != nil; e = errors.Unwrap(e) {
		rv := reflect.ValueOf(e)
		if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Struct {
			s := rv.Elem()
			p, d, g := s.FieldByName("Path"), s.FieldByName("Details"), s.FieldByName("Diagnostics")
			if p.IsValid() && d.IsValid() && g.IsValid() && p.Kind() == reflect.String &&
				d.Kind() == reflect.String && g.Kind() == reflect.String {
				return described{path: p.String(), details: d.String(), diagnostics: g.String()}
			}
		}
	}
	return described{details: err.Error()}
}
