package interaction

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// metaJSON is Meta with its members in the specification's order.
type metaJSON struct {
	ID          string            `json:"id,omitempty"`
	Extension   []json.RawMessage `json:"extension,omitempty"`
	VersionID   string            `json:"versionId,omitempty"`
	LastUpdated string            `json:"lastUpdated,omitempty"`
	Source      string            `json:"source,omitempty"`
	Profile     []string          `json:"profile,omitempty"`
	Security    []json.RawMessage `json:"security,omitempty"`
	Tag         []json.RawMessage `json:"tag,omitempty"`
}

// codingKey is a tag's or security label's identity: system and code.
func codingKey(raw json.RawMessage) string {
	var c struct{ System, Code string }
	_ = json.Unmarshal(raw, &c)
	return c.System + "|" + c.Code
}

// merge adds (or, with remove, deletes) in's profiles, tags and security
// labels to m: profiles match by URL, codings by system and code.
func (m *metaJSON) merge(in *metaJSON, remove bool) {
	has := func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	var drop []string
	for _, p := range in.Profile {
		if !remove && !has(m.Profile, p) {
			m.Profile = append(m.Profile, p)
		}
		drop = append(drop, p)
	}
	if remove {
		var keep []string
		for _, p := range m.Profile {
			if !has(drop, p) {
				keep = append(keep, p)
			}
		}
		m.Profile = keep
	}
	codings := func(cur, add []json.RawMessage) []json.RawMessage {
		keys := map[string]bool{}
		for _, c := range add {
			keys[codingKey(c)] = true
		}
		var out []json.RawMessage
		seen := map[string]bool{}
		for _, c := range cur {
			if remove && keys[codingKey(c)] {
				continue
			}
			seen[codingKey(c)] = true
			out = append(out, c)
		}
		if !remove {
			for _, c := range add {
				if !seen[codingKey(c)] {
					seen[codingKey(c)] = true
					out = append(out, c)
				}
			}
		}
		return out
	}
	m.Tag = codings(m.Tag, in.Tag)
	m.Security = codings(m.Security, in.Security)
}

// metaOf reads a stored body's meta.
func metaOf(body []byte) (*metaJSON, error) {
	var r struct {
		Meta metaJSON `json:"meta"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, err
	}
	return &r.Meta, nil
}

func parametersWithMeta(m *metaJSON) []byte {
	b, _ := json.Marshal(map[string]any{"resourceType": "Parameters",
		"parameter": []any{map[string]any{"name": "return", "valueMeta": m}}})
	return b
}

// MetaRequest is $meta, $meta-add or $meta-delete at [type]/[id] or
// [type]/[id]/_history/[vid].
type MetaRequest struct {
	Sandbox  fhirstore.Sandbox
	Type, ID string
	// Version is the version id of the path, "" for the current version.
	Version string
	// Operation is $meta, $meta-add or $meta-delete.
	Operation string
	// Body is the Parameters of $meta-add and $meta-delete, with one
	// parameter named meta (valueMeta).
	Body []byte
}

// Meta answers $meta with the version's meta, and $meta-add and
// $meta-delete by changing its profiles, tags and security labels in
// place, without a new version, as the specification defines these
// operations; the answer is a Parameters resource holding the meta.
func (e *Engine) Meta(ctx context.Context, req *MetaRequest) ([]byte, error) {
	if req.Operation == "$meta" {
		v, err := metaTarget(ctx, e.store, req)
		if err != nil {
			return nil, err
		}
		m, err := metaOf(v.Body)
		if err != nil {
			return nil, err
		}
		return parametersWithMeta(m), nil
	}
	var in struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name      string   `json:"name"`
			ValueMeta metaJSON `json:"valueMeta"`
		} `json:"parameter"`
	}
	if oe := fhirjson.CheckJSON(req.Body); oe != nil {
		return nil, oe
	}
	dec := json.NewDecoder(bytes.NewReader(req.Body))
	if err := dec.Decode(&in); err != nil || in.ResourceType != "Parameters" || len(in.Parameter) != 1 || in.Parameter[0].Name != "meta" {
		return nil, outcome.New(outcome.Incorrect, outcome.Invalid,
			"%s takes a Parameters resource with one parameter named meta (valueMeta)", req.Operation)
	}
	var m *metaJSON
	err := e.store.Tx(ctx, func(tx fhirstore.Tx) error {
		v, err := metaTarget(ctx, tx, req)
		if err != nil {
			return err
		}
		if err := replaced(ctx, tx, req.Sandbox, req.Type, req.ID); err != nil {
			return err
		}
		if m, err = metaOf(v.Body); err != nil {
			return err
		}
		m.merge(&in.Parameter[0].ValueMeta, req.Operation == "$meta-delete")
		meta, _ := json.Marshal(m)
		body, err := fhirjson.WithMeta(v.Body, meta)
		if err == nil {
			_, err = fhirjson.Parse(body) // the added codings must be valid FHIR
		}
		if err != nil {
			return err
		}
		return tx.ReplaceMeta(ctx, req.Sandbox, req.Type, req.ID, v.Version, body)
	})
	if err != nil {
		return nil, StoreError(err, req.Type, req.ID)
	}
	return parametersWithMeta(m), nil
}

// metaTarget reads the version a meta operation names.
func metaTarget(ctx context.Context, rd fhirstore.Reader, req *MetaRequest) (*fhirstore.Resource, error) {
	if req.Version != "" {
		vid, err := strconv.ParseInt(req.Version, 10, 64)
		if err != nil || vid < 1 {
			return nil, outcome.New(outcome.Incorrect, outcome.Value, "%q is not a version id", req.Version)
		}
		v, err := rd.VRead(ctx, req.Sandbox, req.Type, req.ID, vid)
		if err != nil {
			return nil, StoreError(err, req.Type, req.ID)
		}
		if v.Deleted() {
			return nil, outcome.New(outcome.Gone, outcome.Deleted, "version %d of %s/%s records its deletion", vid, req.Type, req.ID)
		}
		return v, nil
	}
	v, err := rd.Read(ctx, req.Sandbox, req.Type, req.ID)
	if err != nil {
		return nil, StoreError(err, req.Type, req.ID)
	}
	return v, nil
}
