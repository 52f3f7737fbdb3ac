package observe

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// maxShapeSegments bounds the segments of a FHIR path a route template
// spells out; deeper paths end in "/…".
const maxShapeSegments = 6

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
	return string(appendShape(nil, path))
}

// appendShape appends FHIRShape(path) to b.
func appendShape(b []byte, path string) []byte {
	path = strings.Trim(path, "/")
	pos := 0 // position of the segment within a type/id pair
	afterHistory := false
	for i := 0; path != ""; i++ {
		var seg string
		seg, path, _ = strings.Cut(path, "/")
		if i == maxShapeSegments {
			b = append(b, "/…"...)
			break
		}
		b = append(b, '/')
		switch {
		case fhirKeywords[seg]:
			b = append(b, seg...)
			afterHistory = seg == "_history"
			pos = 0
			continue
		case strings.HasPrefix(seg, "$"):
			b = append(b, "{operation}"...)
		case afterHistory:
			b = append(b, "{vid}"...)
		case pos%2 == 0:
			b = append(b, "{type}"...)
		default:
			b = append(b, "{id}"...)
		}
		afterHistory = false
		pos++
	}
	return b
}

// routeLabels are what a request's method and route template name: its
// route (routeOf), its span's name, and its latency series.
type routeLabels struct {
	route, span string
	latency     prometheus.Observer // nil without metrics
}

// maxRoutes bounds the routes a routeCache keeps. Route templates and
// methods are few (gin's routes, shapes of at most maxShapeSegments, the
// standard methods), so the bound is never reached in practice; past it
// the labels are made for each request.
const maxRoutes = 4096

// routeCache keeps the labels of each method and route template, so that
// a request makes no strings and hashes no label values for them. Reads
// take no lock: the map is replaced, never changed.
type routeCache struct {
	m       *Metrics
	mu      sync.Mutex // serialises additions
	entries atomic.Pointer[map[string]*routeLabels]
}

// of returns the labels of c's request, whose method label is method.
func (rc *routeCache) of(c *gin.Context, method string) *routeLabels {
	var buf [160]byte
	key := append(buf[:0], method...)
	key = append(key, ' ')
	full := c.FullPath()
	if base, ok := strings.CutSuffix(full, "/fhir/*path"); ok {
		key = append(key, base...)
		key = append(key, "/fhir"...)
		key = appendShape(key, c.Param("path"))
	} else if full == "" {
		key = append(key, Unmatched...)
	} else {
		key = append(key, full...)
	}
	if entries := rc.entries.Load(); entries != nil {
		if l, ok := (*entries)[string(key)]; ok {
			return l
		}
	}
	name := string(key)
	l := &routeLabels{route: name[len(method)+1:], span: name}
	if rc.m != nil {
		l.latency = rc.m.latency.WithLabelValues(l.route, method)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	old := rc.entries.Load()
	if old != nil && len(*old) >= maxRoutes {
		return l
	}
	next := make(map[string]*routeLabels, 1+lenOf(old))
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[name] = l
	rc.entries.Store(&next)
	return l
}

func lenOf(m *map[string]*routeLabels) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
