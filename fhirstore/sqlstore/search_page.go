package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"hpsandbox/fhirstore/outcome"
)

// cursor is where a page starts: after (or, backward, before) the row with
// these sort key values and rid. It carries the total of the first page so
// that later pages need not count again.
type cursor struct {
	Keys     []any
	RID      int64
	Backward bool
	Total    int
}

// cursorJSON is the wire form; key values are tagged strings so that
// 64-bit integers survive JSON ("n" is no value: a resource without one of
// the parameter sorted by, see indexedPage).
type cursorJSON struct {
	K []string `json:"k,omitempty"`
	R int64    `json:"r"`
	B bool     `json:"b,omitempty"`
	T int      `json:"t"`
}

func encodeCursor(keys []any, rid int64, backward bool, total int) string {
	cj := cursorJSON{R: rid, B: backward, T: total}
	for _, k := range keys {
		switch v := k.(type) {
		case nil:
			cj.K = append(cj.K, "n")
		case int64:
			cj.K = append(cj.K, "i"+strconv.FormatInt(v, 10))
		case float64:
			cj.K = append(cj.K, "f"+strconv.FormatFloat(v, 'g', -1, 64))
		case []byte:
			cj.K = append(cj.K, "s"+string(v))
		default:
			cj.K = append(cj.K, "s"+fmt.Sprint(v))
		}
	}
	b, _ := json.Marshal(cj) // strings and numbers only
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor of a search with nkeys sort keys; nil for "".
func decodeCursor(s string, nkeys int) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := outcome.New(outcome.Incorrect, outcome.Value,
		"_cursor is not a paging cursor of this search; follow the bundle's links").At("_cursor")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var cj cursorJSON
	if err := json.Unmarshal(raw, &cj); err != nil || len(cj.K) != nkeys {
		return nil, bad
	}
	c := &cursor{RID: cj.R, Backward: cj.B, Total: cj.T}
	for _, k := range cj.K {
		if k == "" {
			return nil, bad
		}
		switch k[0] {
		case 'i':
			v, err := strconv.ParseInt(k[1:], 10, 64)
			if err != nil {
				return nil, bad
			}
			c.Keys = append(c.Keys, v)
		case 'f':
			v, err := strconv.ParseFloat(k[1:], 64)
			if err != nil {
				return nil, bad
			}
			c.Keys = append(c.Keys, v)
		case 's':
			c.Keys = append(c.Keys, k[1:])
		case 'n':
			c.Keys = append(c.Keys, nil)
		default:
			return nil, bad
		}
	}
	return c, nil
}
