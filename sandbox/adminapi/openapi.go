package adminapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIFile is the document's name, below the API's base path.
const openAPIFile = "openapi.json"

// openAPI is the OpenAPI 3.1 description of every operation. It is
// written by hand, as the API's contract; TestOpenAPI_* keep it and the
// routes, parameters and answers the same.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the API's OpenAPI 3.1 document (JSON), for the API
// guides to link or render.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// serveOpenAPI answers the document. It needs no credentials: it says
// what the API does, not what is in it.
func (a *API) serveOpenAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", openAPI)
}
