package observe

import (
	"strings"

	"github.com/gin-gonic/gin"
)

// maxShapeSegments bounds the segments of a FHIR path a route template
// spells out; deeper paths end in "/…".
const maxShapeSegments = 6

// routeOf is the route template of a served request: gin's FullPath, with
// the catch-all of a FHIR base ("/fhir/*path") replaced by the shape of
// the FHIR path (FHIRShape), and Unmatched when no route served it.
func routeOf(c *gin.Context) string {
	route := c.FullPath()
	if route == "" {
		return Unmatched
	}
	if base, ok := strings.CutSuffix(route, "/fhir/*path"); ok {
		return base + "/fhir" + FHIRShape(c.Param("path"))
	}
	return route
}

// fhirKeywords are the path segments of the FHIR REST API that are
// spelt out in a shape.
var fhirKeywords = map[string]bool{
	"metadata": true, "_history": true, "_search": true, ".well-known": true,
	"smart-configuration": true, "openid-configuration": true,
}

// FHIRShape is the route template of a path below a FHIR base: keywords
// (metadata, _history, _search) as they are, an operation as {operation},
// the segments between as {type}, {id} and {vid}, so that ids never become
// labels. "/Patient/pat-a/_history/2" is "/{type}/{id}/_history/{vid}".
func FHIRShape(path string) string {
	path = strings.Trim(path, "/")
	if path == "" {
		return ""
	}
	var b strings.Builder
	pos := 0 // position of the segment within a type/id pair
	afterHistory := false
	for i, seg := range strings.Split(path, "/") {
		if i == maxShapeSegments {
			b.WriteString("/…")
			break
		}
		b.WriteByte('/')
		switch {
		case fhirKeywords[seg]:
			b.WriteString(seg)
			afterHistory = seg == "_history"
			pos = 0
			continue
		case strings.HasPrefix(seg, "$"):
			b.WriteString("{operation}")
		case afterHistory:
			b.WriteString("{vid}")
		case pos%2 == 0:
			b.WriteString("{type}")
		default:
			b.WriteString("{id}")
		}
		afterHistory = false
		pos++
	}
	return b.String()
}
