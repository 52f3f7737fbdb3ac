package profile

import (
	"encoding/xml"
	"strings"

	"hpsandbox/fhirstore/outcome"
)

// narrativeLinks checks that the internal links of a resource's narratives
// (href="#x") resolve: to an element with that id or name in one of the
// resource's narratives, or to a contained resource with that id.
func (r *run) narrativeLinks(v *jvalue, path pathID) {
	divs := []*jvalue{v.get("text").get("div")}
	for _, c := range v.get("contained").list() {
		divs = append(divs, c.get("text").get("div"))
	}
	linked := false
	for _, d := range divs {
		if d != nil && d.kind == kString && strings.Contains(d.str, `href="#`) {
			linked = true
		}
	}
	if !linked {
		return
	}
	anchors := map[string]bool{}
	for _, c := range v.get("contained").list() {
		if id := c.get("id"); id != nil && id.kind == kString {
			anchors[id.str] = true
		}
	}
	var links []string
	for _, d := range divs {
		if d == nil || d.kind != kString {
			continue
		}
		dec := xml.NewDecoder(strings.NewReader(d.str))
		dec.Strict = false
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			el, ok := tok.(xml.StartElement)
			if !ok {
				continue
			}
			for _, a := range el.Attr {
				switch a.Name.Local {
				case "id", "name":
					anchors[a.Value] = true
				case "href":
					if el.Name.Local == "a" && strings.HasPrefix(a.Value, "#") && len(a.Value) > 1 {
						links = append(links, a.Value[1:])
					}
				}
			}
		}
	}
	for _, l := range links {
		if !anchors[l] {
			r.add(outcome.ErrorLevel, outcome.Invalid, r.child(r.child(path, "text"), "div"), "narrative-link",
				"Hyperlink '#%s' in the narrative does not resolve to an anchor or a contained resource", l)
		}
	}
}

// narrativeHasContent is invariant txt-2: the narrative has some
// non-whitespace text, or an image.
func narrativeHasContent(div string) bool {
	dec := xml.NewDecoder(strings.NewReader(div))
	dec.Strict = false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if hasContent(tok) {
			return true
		}
	}
}

// hasContent reports whether a token of a narrative is content for txt-2:
// non-whitespace text, or an image.
func hasContent(tok xml.Token) bool {
	switch t := tok.(type) {
	case xml.CharData:
		return strings.TrimSpace(string(t)) != ""
	case xml.StartElement:
		return t.Name.Local == "img"
	}
	return false
}

// narrativeContent is txt-2 for a div, answered from the well-formedness
// check of the same text when it ran.
func (r *run) narrativeContent(div string) bool {
	if r.divKnown && r.div == div {
		return r.divContent
	}
	return narrativeHasContent(div)
}
