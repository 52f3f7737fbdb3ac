package sandbox

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// corsPaths are where browser apps call the sandbox from their own origin:
// the FHIR API, discovery, and the token, introspection, revocation and
// JWKS endpoints. The authorize endpoint and its pages are navigated to,
// not called, and get no CORS headers.
// Suppliers' sandboxes have the same below /sandboxes/{id}. Dynamic
// registration is called too.
var corsPaths = []string{fhirBasePath + "/", "/.well-known/", "/auth/token", "/auth/introspect", "/auth/revoke", "/auth/jwks", registerPath}

// cors lets browser apps (a SMART app in a page of another origin) call
// the sandbox: any origin, no cookies — requests carry bearer tokens, so
// there are no ambient credentials to protect. Preflights are answered
// here.
func cors() gin.HandlerFunc {
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || !corsPath(c.Request.URL.Path) {
			c.Next()
			return
		}
		h := c.Writer.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Location, Content-Location, ETag, Last-Modified, WWW-Authenticate, DPoP-Nonce, X-Request-Id, X-Progress")
		if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Match, If-Modified-Since, If-None-Exist, DPoP, X-Request-Id")
			h.Set("Access-Control-Max-Age", "600")
			c.AbortWithStatus(http.StatusNoContent)
			return
		}
		c.Next()
	}
}

func corsPath(p string) bool {
	if rest, ok := strings.CutPrefix(p, sandboxesPath+"/"); ok {
		_, below, _ := strings.Cut(rest, "/")
		p = "/" + below
	}
	if p == fhirBasePath {
		return true
	}
	for _, prefix := range corsPaths {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}
