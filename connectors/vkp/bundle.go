package vkp

import (
	"bytes"
	"encoding/json"
	"slices"

	"hpsandbox/fhirstore/fhirjson"
)

// Bundle is a submitted body read once: compacted and split into its
// shell and its entries' resources (fhirjson.SplitBundle), each resource
// decoded when first asked for. The access rule (EntryTypes) and Parse
// read the same split and the same decoded resources, so the types
// authorized are the types judged.
type Bundle struct {
	body      []byte
	shell     []byte
	resources [][]byte
	splitErr  error
	decoded   []any // nil until decodeAll
}

// ReadBundle splits body; it does not judge it (Parse does).
func ReadBundle(body []byte) *Bundle {
	b := &Bundle{body: body}
	if len(bytes.TrimSpace(body)) > 0 {
		b.shell, b.resources, b.splitErr = fhirjson.SplitBundle(body)
	}
	return b
}

// decodeAll decodes each entry's resource, once.
func (b *Bundle) decodeAll() []any {
	if b.decoded == nil {
		b.decoded = make([]any, len(b.resources))
		for i, raw := range b.resources {
			if raw != nil {
				b.decoded[i] = decode(raw)
			}
		}
	}
	return b.decoded
}

// EntryTypes are the distinct resource types of the entries' resources,
// for the access rule before the Bundle is judged; nil when the body is
// no JSON object (Parse then says why).
func (b *Bundle) EntryTypes() []string {
	if b.splitErr != nil || b.shell == nil {
		return nil
	}
	var types []string
	var seen map[string]bool // once types outgrow a list's search
	for _, v := range b.decodeAll() {
		m, _ := v.(map[string]any)
		t, _ := m["resourceType"].(string)
		if t == "" {
			continue
		}
		if seen == nil && len(types) >= fewTypes {
			seen = make(map[string]bool, len(b.resources))
			for _, x := range types {
				seen[x] = true
			}
		}
		if seen != nil {
			if seen[t] {
				continue
			}
			seen[t] = true
		} else if slices.Contains(types, t) {
			continue
		}
		types = append(types, t)
	}
	return types
}

// fewTypes is the number of distinct types up to which EntryTypes looks
// for a type in its list; a Bundle of more, which only a hostile sender
// writes (Parse refuses over MaxEntries entries), is read through a set,
// so that the access rule's time stays linear in the entries.
const fewTypes = 16

// The hub decodes each resource of a submission into map[string]any (to
// judge its codes and person and to rewrite its subject and id) and
// encodes the transaction it stores from those maps. encoding/json does
// both through reflection, sorting map keys through reflect values, and
// its decoder validates input SplitBundle has already compacted and
// validated. fhirjson.DecodeValue and fhirjson.AppendJSON do the same
// work directly on the few types these documents hold, so that their
// results are encoding/json's byte for byte.

// decode decodes raw, compacted JSON (valid: SplitBundle compacted it),
// keeping numbers as they were written (json.Number), as a json.Decoder
// with UseNumber does: by fhirjson.DecodeValue, which agrees with it.
func decode(raw []byte) any {
	if v, err := fhirjson.DecodeValue(raw); err == nil {
		return v
	}
	return decodeStd(raw)
}

// decodeStd is decode by encoding/json.
func decodeStd(raw []byte) any {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	_ = dec.Decode(&v)
	return v
}

// marshalValue encodes v as json.Marshal does (fhirjson.AppendJSON).
func marshalValue(v any) ([]byte, error) {
	return fhirjson.AppendJSON(make([]byte, 0, 2048), v)
}
