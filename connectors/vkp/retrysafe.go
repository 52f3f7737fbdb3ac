package vkp

import (
	"encoding/json"

	"hpsandbox/connectors"
	"hpsandbox/fhirstore/outcome"
)

// retrySafe is the retry-safe check of a submission the hub accepted,
// which runs on every one: Parse proved it a Bundle of known elements, so
// only each resource's type and identifiers are read, not the whole
// resources as parseBundle does.
//
// The body is scanned once (scanHeads), which reads the common shape of a
// submission at a fraction of encoding/json's cost; a body whose shape the
// scan does not vouch for (invalid or cut-short JSON, names that differ
// only in case, repeated names, values of another type, escapes where
// names and types are read) is read by encoding/json as before
// (retrySafeStd), so that every body gets the verdict it always got.
func retrySafe(body []byte) connectors.Result {
	heads, ok := scanHeads(body)
	if !ok {
		return retrySafeStd(body)
	}
	return retryVerdict(heads)
}

// head is one entry's resource type and its identifier element as written
// (nil when it has none).
type head struct {
	typ        string
	identifier []byte
}

func retryVerdict(heads []head) connectors.Result {
	if len(heads) == 0 {
		return na
	}
	var issues []outcome.Issue
	for i, h := range heads {
		var ids any
		if len(h.identifier) > 0 {
			ids = decode(h.identifier)
		}
		if ownIdentifier(map[string]any{"identifier": ids}) == "" {
			issues = append(issues, retryIssue(h.typ, i))
		}
	}
	return verdict(issues, true)
}

// retrySafeStd reads the entries' heads with encoding/json.
func retrySafeStd(body []byte) connectors.Result {
	var b struct {
		Entry []struct {
			Resource struct {
				ResourceType string          `json:"resourceType"`
				Identifier   json.RawMessage `json:"identifier"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(body, &b) != nil {
		return na
	}
	heads := make([]head, len(b.Entry))
	for i, e := range b.Entry {
		heads[i] = head{typ: e.Resource.ResourceType, identifier: e.Resource.Identifier}
	}
	return retryVerdict(heads)
}

// scanHeads reads each entry's resource type and identifier from body,
// checking that the whole body is one JSON value as encoding/json does.
// ok is false when the body is not plainly a JSON object whose "entry" is
// an array of objects, each with a "resource" object with a plain string
// "resourceType": the caller then asks encoding/json, whose answer for
// such bodies (an error, or names matched regardless of case, or repeated
// members merged) the scan does not repeat.
func scanHeads(body []byte) (heads []head, ok bool) {
	s := scanner{b: body}
	s.space()
	ok = s.object(func(key []byte) bool {
		if string(key) != "entry" {
			return s.value(1)
		}
		if heads != nil {
			return false // a repeated entry
		}
		heads = make([]head, 0, 4)
		return s.array(func() bool {
			var h head
			seen := false
			ok := s.object(func(key []byte) bool {
				if string(key) != "resource" {
					return s.value(3)
				}
				if seen {
					return false
				}
				seen = true
				return s.resource(&h)
			}, 2, "resource")
			heads = append(heads, h)
			return ok && seen
		})
	}, 0, "entry")
	if !ok || heads == nil {
		return nil, false
	}
	s.space()
	return heads, s.i == len(s.b)
}

// resource reads the resource object's type and identifier into h.
func (s *scanner) resource(h *head) bool {
	typed := false
	return s.object(func(key []byte) bool {
		switch string(key) {
		case "resourceType":
			if typed {
				return false
			}
			typed = true
			v, ok := s.plainString()
			h.typ = v
			return ok
		case "identifier":
			if h.identifier != nil {
				return false
			}
			start := s.i
			if !s.value(4) {
				return false
			}
			h.identifier = s.b[start:s.i]
			return true
		}
		return s.value(4)
	}, 3, "resourceType", "identifier") && typed
}
