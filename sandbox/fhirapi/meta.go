package fhirapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/interaction"
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

// metaTarget reads the version an instance-level meta operation names:
// [type]/[id]/$op or [type]/[id]/_history/[vid]/$op.
func (a *API) metaTarget(r *request, segs []string) (*fhirstore.Resource, error) {
	ctx := r.c.Request.Context()
	if len(segs) == 5 {
		vid, err := strconv.ParseInt(segs[3], 10, 64)
		if err != nil || vid < 1 {
			return nil, outcome.New(outcome.Incorrect, outcome.Value, "%q is not a version id", segs[3])
		}
		v, err := a.store.VRead(ctx, r.sandbox, r.typ, r.id, vid)
		if err != nil {
			return nil, interaction.StoreError(err, r.typ, r.id)
		}
		if v.Deleted() {
			return nil, outcome.New(outcome.Gone, outcome.Deleted, "version %d of %s/%s records its deletion", vid, r.typ, r.id)
		}
		return v, nil
	}
	v, err := a.store.Read(ctx, r.sandbox, r.typ, r.id)
	if err != nil {
		return nil, interaction.StoreError(err, r.typ, r.id)
	}
	return v, nil
}

// metaRead serves [type]/[id](/_history/[vid])/$meta.
func (a *API) metaRead(r *request, segs []string) {
	v, err := a.metaTarget(r, segs)
	if err != nil {
		writeError(r.c, err)
		return
	}
	m, err := metaOf(v.Body)
	if err != nil {
		writeError(r.c, err)
		return
	}
	writeBody(r.c, http.StatusOK, parametersWithMeta(m))
}

// metaChange serves $meta-add and $meta-delete: the named version's
// profiles, tags and security labels change in place, without a new
// version, as the specification defines these operations.
func (a *API) metaChange(r *request, segs []string) {
	remove := segs[len(segs)-1] == "$meta-delete"
	data, err := a.readBody(r)
	if err != nil {
		writeError(r.c, err)
		return
	}
	var in struct {
		ResourceType string `json:"resourceType"`
		Parameter    []struct {
			Name      string   `json:"name"`
			ValueMeta metaJSON `json:"valueMeta"`
		} `json:"parameter"`
	}
	if oe := fhirjson.CheckJSON(data); oe != nil {
		writeError(r.c, oe)
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&in); err != nil || in.ResourceType != "Parameters" || len(in.Parameter) != 1 || in.Parameter[0].Name != "meta" {
		writeError(r.c, outcome.New(outcome.Incorrect, outcome.Invalid,
			"%s takes a Parameters resource with one parameter named meta (valueMeta)", segs[len(segs)-1]))
		return
	}
	v, err := a.metaTarget(r, segs)
	if err != nil {
		writeError(r.c, err)
		return
	}
	m, err := metaOf(v.Body)
	if err != nil {
		writeError(r.c, err)
		return
	}
	m.merge(&in.Parameter[0].ValueMeta, remove)
	meta, _ := json.Marshal(m)
	body, err := fhirjson.WithMeta(v.Body, meta)
	if err == nil {
		_, err = fhirjson.Parse(body) // the added codings must be valid FHIR
	}
	if err != nil {
		writeError(r.c, err)
		return
	}
	if err := a.store.ReplaceMeta(r.c.Request.Context(), r.sandbox, r.typ, r.id, v.Version, body); err != nil {
		writeError(r.c, interaction.StoreError(err, r.typ, r.id))
		return
	}
	writeBody(r.c, http.StatusOK, parametersWithMeta(m))
}
