package subscription

import (
	"encoding/json"
	"fmt"

	"hpsandbox/fhirstore/fhirjson"
)

// withStatus returns body with status and error set (error removed when
// msg is empty) and the ConfinedTag present exactly when confined; nil when
// body says so already.
func withStatus(body []byte, status, msg string, confined bool) (*fhirjson.Resource, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	changed := false
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		if string(doc[k]) != string(b) {
			doc[k] = b
			changed = true
		}
	}
	set("status", status)
	if msg != "" {
		set("error", msg)
	} else if _, ok := doc["error"]; ok {
		delete(doc, "error")
		changed = true
	}
	var meta map[string]json.RawMessage
	if raw, ok := doc["meta"]; ok {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, err
		}
	}
	if meta == nil {
		meta = map[string]json.RawMessage{}
	}
	var tags []map[string]any
	if raw, ok := meta["tag"]; ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, err
		}
	}
	kept := tags[:0:0]
	had := false
	for _, t := range tags {
		if t["system"] == TagSystem && t["code"] == ConfinedTag {
			had = true
			continue
		}
		kept = append(kept, t)
	}
	if confined {
		kept = append(kept, map[string]any{"system": TagSystem, "code": ConfinedTag,
			"display": "made under a confined token; matched under its confinement"})
	}
	if had != confined {
		changed = true
		if len(kept) == 0 {
			delete(meta, "tag")
		} else {
			b, _ := json.Marshal(kept)
			meta["tag"] = b
		}
		b, _ := json.Marshal(meta)
		doc["meta"] = b
	}
	if !changed {
		return nil, nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	res, err := fhirjson.Parse(out)
	if err != nil {
		return nil, fmt.Errorf("Subscription with status %s: %w", status, err)
	}
	return res, nil
}
