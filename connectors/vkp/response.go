package vkp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// withPatientFirst puts the entry of the person's Patient, found before
// the transaction, first in the transaction-response, as the conditional
// create that registers an unknown person puts it: the answer has the same
// shape whether or not the sandbox knew the person (200 OK, the Patient's
// location and version).
func withPatientFirst(resp []byte, p *fhirstore.Resource) ([]byte, error) {
	if out, ok := splicePatientFirst(resp, p); ok {
		return out, nil
	}
	return withPatientFirstStd(resp, p)
}

// withPatientFirstStd is withPatientFirst by encoding/json: the response
// decoded, the entry put first, and the response encoded again.
func withPatientFirstStd(resp []byte, p *fhirstore.Resource) ([]byte, error) {
	var b struct {
		ResourceType string            `json:"resourceType"`
		ID           string            `json:"id,omitempty"`
		Meta         json.RawMessage   `json:"meta,omitempty"`
		Type         string            `json:"type"`
		Entry        []json.RawMessage `json:"entry"`
	}
	if err := json.Unmarshal(resp, &b); err != nil {
		return nil, fmt.Errorf("vkp: the store's transaction-response: %w", err)
	}
	base := ""
	for _, e := range b.Entry {
		var x struct{ FullURL string }
		_ = json.Unmarshal(e, &x)
		if b, ok := baseOf(x.FullURL); ok {
			base = b
			break
		}
	}
	type response struct {
		Status       string `json:"status"`
		Location     string `json:"location"`
		Etag         string `json:"etag"`
		LastModified string `json:"lastModified"`
	}
	first := struct {
		FullURL  string   `json:"fullUrl,omitempty"`
		Response response `json:"response"`
	}{Response: response{Status: "200 OK", Location: fmt.Sprintf("Patient/%s/_history/%d", p.ID, p.Version),
		Etag: p.ETag(), LastModified: fhirjson.FormatInstant(p.LastUpdated)}}
	if base != "" {
		first.FullURL = base + "Patient/" + p.ID
	}
	entry, err := json.Marshal(first)
	if err != nil {
		return nil, err
	}
	b.Entry = append([]json.RawMessage{entry}, b.Entry...)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(b); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// baseOf is the base of an entry's fullUrl ([base]Type/id): what
// precedes its last two segments.
func baseOf(fullURL string) (string, bool) {
	if i := strings.LastIndexByte(fullURL, '/'); i > 0 {
		if j := strings.LastIndexByte(fullURL[:i], '/'); j >= 0 {
			return fullURL[:j+1], true
		}
	}
	return "", false
}

// splicePatientFirst is withPatientFirst for a response as the store's
// encoder writes it (compact; resourceType, id, meta, type and entry in
// that order and nothing else; plain names and strings): encoding/json
// would write it again byte for byte, so the entry is put in its place
// without decoding the rest. ok is false for any other response, which
// withPatientFirstStd takes.
func splicePatientFirst(resp []byte, p *fhirstore.Resource) (out []byte, ok bool) {
	order := [...]string{"resourceType", "id", "meta", "type", "entry"}
	next, list, entries, seen := 0, -1, 0, 0
	base, based := "", false
	s := scanner{b: resp}
	ok = s.object(func(key []byte) bool {
		k := next
		for k < len(order) && order[k] != string(key) {
			k++
		}
		if k == len(order) {
			return false // unknown, repeated or out of order
		}
		next, seen = k+1, seen|1<<k
		switch order[k] {
		case "meta":
			return s.peek('{') && s.value(1)
		case "entry":
			list = s.i
			return s.array(func() bool {
				entries++
				full := false
				return s.object(func(key []byte) bool {
					if string(key) != "fullUrl" {
						return s.value(3)
					}
					if full || !s.peek('"') {
						return false
					}
					full = true
					v, ok := s.plainString()
					if ok && !based {
						base, based = baseOf(v)
					}
					return ok
				}, 2, "fullUrl")
			})
		}
		v, ok := s.plainString()
		return ok && (order[k] != "id" || v != "")
	}, 0, order[:]...)
	const required = 1<<0 | 1<<3 | 1<<4 // resourceType, type, entry: written even when empty
	if !ok || s.spaced || s.i != len(resp) || seen&required != required {
		return nil, false
	}
	first := make([]byte, 0, 256)
	first = append(first, '{')
	if based {
		first = append(first, `"fullUrl":`...)
		first, _ = fhirjson.AppendJSON(first, base+"Patient/"+p.ID)
		first = append(first, ',')
	}
	first = append(first, `"response":{"status":"200 OK","location":`...)
	first, _ = fhirjson.AppendJSON(first, "Patient/"+p.ID+"/_history/"+strconv.FormatInt(p.Version, 10))
	first = append(first, `,"etag":`...)
	first, _ = fhirjson.AppendJSON(first, p.ETag())
	first = append(first, `,"lastModified":`...)
	first, _ = fhirjson.AppendJSON(first, fhirjson.FormatInstant(p.LastUpdated))
	first = append(first, "}}"...)
	out = make([]byte, 0, len(resp)+len(first)+1)
	out = append(out, resp[:list+1]...)
	out = append(out, first...)
	if entries > 0 {
		out = append(out, ',')
	}
	return append(out, resp[list+1:]...), true
}
