package subscription

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/search"
)

// Statuses of an R4 Subscription.
const (
	StatusRequested = "requested"
	StatusActive    = "active"
	StatusError     = "error"
	StatusOff       = "off"
)

// Channel types served.
const (
	RestHook  = "rest-hook"
	Websocket = "websocket"
)

// Payload contents, as the Subscriptions R5 Backport IG names them.
const (
	ContentEmpty        = "empty"
	ContentIDOnly       = "id-only"
	ContentFullResource = "full-resource"
)

// ContentExtension is the backport IG's extension on channel.payload
// choosing how much of the resource a notification carries.
const ContentExtension = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content"

// ConfinedTag marks (system|code in meta.tag) a subscription made under a
// confined token; see the package doc.
const (
	TagSystem   = "https://hpsandbox.no/fhir/CodeSystem/subscription"
	ConfinedTag = "confined"
)

// spec is what the manager reads of a Subscription.
type spec struct {
	sandbox  fhirstore.Sandbox
	id       string
	version  int64
	status   string
	confined bool // carries the ConfinedTag
	// typ and params are the criteria, parsed.
	typ    string
	params url.Values
	// channel
	channel  string
	endpoint string
	content  string
	headers  http.Header
}

// subscriptionJSON is the part of an R4 Subscription the manager reads.
type subscriptionJSON struct {
	Status   string `json:"status"`
	Criteria string `json:"criteria"`
	Meta     struct {
		Tag []struct {
			System string `json:"system"`
			Code   string `json:"code"`
		} `json:"tag"`
	} `json:"meta"`
	Channel struct {
		Type       string            `json:"type"`
		Endpoint   string            `json:"endpoint"`
		Payload    string            `json:"payload"`
		PayloadExt *payloadExtension `json:"_payload"`
		Header     []string          `json:"header"`
	} `json:"channel"`
}

type payloadExtension struct {
	Extension []struct {
		URL       string `json:"url"`
		ValueCode string `json:"valueCode"`
	} `json:"extension"`
}

// refusedParams are search result parameters: they say how to page or
// shape results, which a criteria cannot mean.
var refusedParams = map[string]bool{
	"_count": true, "_sort": true, "_include": true, "_revinclude": true, "_summary": true,
	"_elements": true, "_total": true, "_offset": true, "_cursor": true, "_contained": true,
	"_containedType": true, "_format": true, "_pretty": true, "_type": true,
}

// reservedHeaders are request headers a subscription may not set: they
// frame the request or name its target.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Content-Type": true, "Transfer-Encoding": true,
	"Connection": true, "Te": true, "Trailer": true, "Upgrade": true, "Expect": true,
	"Content-Location": true, "Proxy-Authorization": true, "Keep-Alive": true,
}

// maxHeaders bounds channel.header.
const maxHeaders = 20

// errRefused marks a Subscription the manager will not run; its text goes
// into Subscription.error.
var errRefused = errors.New("subscription refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errRefused, fmt.Sprintf(format, args...))
}

// parse reads a stored Subscription. Its error is about the resource as a
// whole (not JSON); judge reports what makes it unusable.
func parse(sandbox fhirstore.Sandbox, r *fhirstore.Resource) (*spec, error) {
	var j subscriptionJSON
	if err := json.Unmarshal(r.Body, &j); err != nil {
		return nil, fmt.Errorf("Subscription/%s: %w", r.ID, err)
	}
	s := &spec{sandbox: sandbox, id: r.ID, version: r.Version, status: j.Status,
		channel: j.Channel.Type, endpoint: j.Channel.Endpoint}
	for _, t := range j.Meta.Tag {
		if t.System == TagSystem && t.Code == ConfinedTag {
			s.confined = true
		}
	}
	return s, s.judge(&j)
}

// judge fills the criteria, content and headers of s, or says why the
// subscription cannot run.
func (s *spec) judge(j *subscriptionJSON) error {
	typ, query, _ := strings.Cut(j.Criteria, "?")
	if typ == "" || strings.ContainsAny(typ, "/:") {
		return refuse("criteria %q is not a search like Observation?patient=123", j.Criteria)
	}
	if !slices.Contains(fhirjson.Types(), typ) {
		return refuse("criteria %q: %s is not a FHIR R4 resource type", j.Criteria, typ)
	}
	params, err := url.ParseQuery(query)
	if err != nil {
		return refuse("criteria %q: %v", j.Criteria, err)
	}
	for k := range params {
		name, _, _ := strings.Cut(k, ":")
		if refusedParams[name] {
			return refuse("criteria may hold search filters only, not %s", name)
		}
	}
	q, err := search.Parse(typ, params, search.Options{})
	if err != nil {
		return refuse("criteria %q: %v", j.Criteria, err)
	}
	if len(q.Ignored) > 0 {
		return refuse("criteria %q: parameters not understood: %s", j.Criteria, strings.Join(q.Ignored, ", "))
	}
	s.typ, s.params = typ, params

	switch s.channel {
	case RestHook, Websocket:
	default:
		return refuse("channel.type %q is not served; use rest-hook or websocket", s.channel)
	}
	s.content = ContentEmpty
	if j.Channel.Payload != "" {
		if j.Channel.Payload != "application/fhir+json" && j.Channel.Payload != "application/json" {
			return refuse("channel.payload %q is not served; use application/fhir+json", j.Channel.Payload)
		}
		s.content = ContentFullResource
		if j.Channel.PayloadExt != nil {
			for _, e := range j.Channel.PayloadExt.Extension {
				if e.URL != ContentExtension {
					continue
				}
				switch e.ValueCode {
				case ContentEmpty, ContentIDOnly, ContentFullResource:
					s.content = e.ValueCode
				default:
					return refuse("payload content %q is not one of empty, id-only, full-resource", e.ValueCode)
				}
			}
		}
	}
	if len(j.Channel.Header) > maxHeaders {
		return refuse("channel.header has %d entries; at most %d", len(j.Channel.Header), maxHeaders)
	}
	s.headers = http.Header{}
	for _, h := range j.Channel.Header {
		name, value, ok := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || !validHeaderName(name) || strings.ContainsAny(value, "\r\n\x00") {
			return refuse("channel.header %q is not a header like \"Authorization: Bearer x\"", h)
		}
		if reservedHeaders[http.CanonicalHeaderKey(name)] {
			return refuse("channel.header may not set %s", http.CanonicalHeaderKey(name))
		}
		s.headers.Add(name, value)
	}
	if s.channel == Websocket {
		if s.endpoint != "" {
			return refuse("a websocket subscription has no channel.endpoint: the client connects to the server")
		}
		if len(s.headers) > 0 || j.Channel.Payload != "" {
			return refuse("a websocket subscription carries no payload or headers: its notifications are `ping <id>`")
		}
	}
	return nil
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c > 0x7e || c <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}
