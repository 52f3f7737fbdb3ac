package search

import (
	"encoding/json"
	"strings"
	"sync"
	"unicode"

	"hpsandbox/fhirstore/searchparam"
)

// subsettedTag marks a resource that a server returned in part.
var subsettedTag = json.RawMessage(`{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationValue","code":"SUBSETTED","display":"subsetted"}`)

// always are kept by every subset.
var always = map[string]bool{"resourceType": true, "id": true, "meta": true, "implicitRules": true}

// Subset returns the resource body reduced as _summary (true, data or text)
// and _elements ask, with meta.tag SUBSETTED; the body unchanged when they
// ask for nothing.
//
// _summary=true keeps the elements that some search parameter of the type
// reads, which stands in for the specification's summary flags: the table
// of search parameters is the one element list the server carries, and the
// elements it names are nearly all summary elements.
func Subset(body []byte, typ string, summary Summary, elements []string) ([]byte, error) {
	if (summary == SummaryNone || summary == SummaryCount) && len(elements) == 0 {
		return body, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	var keep func(k string) bool
	switch {
	case summary == SummaryText:
		keep = func(k string) bool { return k == "text" }
	case summary == SummaryData:
		keep = func(k string) bool { return k != "text" }
	case summary == SummaryTrue:
		set := summaryElements(typ)
		keep = func(k string) bool { return set[choiceBase(k)] || set[k] }
	default:
		keep = func(k string) bool {
			for _, e := range elements {
				if k == e || choiceBase(k) == e {
					return true
				}
			}
			return false
		}
	}
	for k := range m {
		if !always[k] && !keep(k) {
			delete(m, k)
		}
	}
	if summary != SummaryData {
		m["meta"] = tagSubsetted(m["meta"])
	}
	return json.Marshal(m)
}

// choiceBase is the name of a choice element without its type suffix
// (valueQuantity → value), or k.
func choiceBase(k string) string {
	for i := 1; i < len(k); i++ {
		if unicode.IsUpper(rune(k[i])) {
			return k[:i]
		}
	}
	return k
}

func tagSubsetted(meta json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if len(meta) == 0 || json.Unmarshal(meta, &m) != nil {
		m = map[string]json.RawMessage{}
	}
	var tags []json.RawMessage
	_ = json.Unmarshal(m["tag"], &tags)
	tags = append(tags, subsettedTag)
	m["tag"], _ = json.Marshal(tags)
	out, _ := json.Marshal(m)
	return out
}

var summaryCache sync.Map // type → map[string]bool

// summaryElements are the top-level elements of typ that its search
// parameters read.
func summaryElements(typ string) map[string]bool {
	if v, ok := summaryCache.Load(typ); ok {
		return v.(map[string]bool)
	}
	set := map[string]bool{}
	for _, sp := range searchparam.ForType(typ) {
		for _, part := range strings.Split(sp.Expression, "|") {
			part = strings.TrimLeft(strings.TrimSpace(part), "(")
			rest, ok := strings.CutPrefix(part, typ+".")
			if !ok {
				continue
			}
			end := strings.IndexFunc(rest, func(r rune) bool { return r == '.' || r == '(' || r == ' ' || r == ')' })
			if end >= 0 {
				rest = rest[:end]
			}
			if rest != "" && !strings.HasPrefix(rest, "extension") {
				set[rest] = true
			}
		}
	}
	summaryCache.Store(typ, set)
	return set
}
