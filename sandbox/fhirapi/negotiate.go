package fhirapi

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
)

// ContentType is the media type of every FHIR response.
const ContentType = "application/fhir+json; charset=utf-8"

// jsonTypes are the media types accepted as FHIR JSON, in requests and in
// Accept and _format.
var jsonTypes = map[string]bool{
	"application/fhir+json": true,
	"application/json":      true,
	"application/json+fhir": true, // DSTU2 name, still sent by older clients
	"json":                  true,
	"*/*":                   true,
	"application/*":         true,
}

// checkFormat refuses requests for a representation other than JSON: _format
// first (it overrides Accept, as the specification says), then Accept.
func checkFormat(c *gin.Context) *outcome.Error {
	// Without a query there is no _format, and nothing to parse.
	if c.Request.URL.RawQuery != "" {
		if f, ok := c.GetQuery("_format"); ok {
			mt := strings.ToLower(strings.TrimSpace(strings.SplitN(f, ";", 2)[0]))
			if jsonTypes[mt] && mt != "*/*" && mt != "application/*" {
				return nil
			}
			return outcome.New(outcome.NotAcceptable, outcome.NotSupported,
				"_format %q is not supported; this server speaks JSON only (_format=json)", f).At("_format")
		}
	}
	accept := c.GetHeader("Accept")
	if accept == "" || jsonTypes[accept] {
		// A lone JSON type in lower case, the common Accept, parses to itself.
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if params["q"] == "0" {
			continue
		}
		if jsonTypes[mt] {
			return nil
		}
	}
	return outcome.New(outcome.NotAcceptable, outcome.NotSupported,
		"Accept %q names no representation this server produces; it speaks application/fhir+json only", accept)
}

// checkContentType refuses a request body that is not declared as JSON. A
// missing Content-Type is taken as FHIR JSON.
func checkContentType(c *gin.Context) *outcome.Error {
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && jsonTypes[mt] && mt != "*/*" && mt != "application/*" && mt != "json" {
		return nil
	}
	return outcome.New(outcome.UnsupportedMedia, outcome.NotSupported,
		"Content-Type %q is not supported; send application/fhir+json", ct)
}

// Prefer return values (RFC 7240, FHIR http.html#prefer).
const (
	returnMinimal        = "minimal"
	returnRepresentation = "representation"
	returnOutcome        = "OperationOutcome"
)

// preferReturn reads Prefer: return=…; representation when absent.
func preferReturn(c *gin.Context) string {
	for _, h := range c.Request.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "return") {
				switch strings.Trim(strings.TrimSpace(v), `"`) {
				case returnMinimal:
					return returnMinimal
				case returnOutcome:
					return returnOutcome
				}
			}
		}
	}
	return returnRepresentation
}

// preferStrict reports Prefer: handling=strict.
func preferStrict(c *gin.Context) bool {
	for _, h := range c.Request.Header.Values("Prefer") {
		for _, pref := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "handling") && strings.TrimSpace(v) == "strict" {
				return true
			}
		}
	}
	return false
}

// writeBody writes a FHIR JSON body, indented when _pretty=true.
func writeBody(c *gin.Context, status int, body []byte) {
	if c.Request.URL.RawQuery != "" && c.Query("_pretty") == "true" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, body, "", "  "); err == nil {
			body = buf.Bytes()
		}
	}
	// Written here rather than by c.Data, which would box its renderer and
	// make the Content-Type's slice for every response. The Content-Type
	// is one shared value: nothing writes into a header's values in place
	// (Set and Add replace or grow the slice, and net/http copies the map
	// when the header is written).
	h := c.Writer.Header()
	if len(h["Content-Type"]) == 0 {
		h["Content-Type"] = contentTypeValue
	}
	c.Status(status)
	if !bodyAllowed(status) {
		c.Writer.WriteHeaderNow()
		return
	}
	if len(body) > 0 {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	if _, err := c.Writer.Write(body); err != nil {
		_ = c.Error(err)
		c.Abort()
	}
}

// bodyAllowed reports whether a response of status may have a body
// (RFC 9110 §6.4.1).
func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199) && status != http.StatusNoContent && status != http.StatusNotModified
}

// contentTypeValue is the Content-Type header of a FHIR body (writeBody).
var contentTypeValue = []string{ContentType}

// Status returns the HTTP status code that answers err, by its
// outcome.Category: the one mapping of errors to statuses, shared by
// everything that answers with an OperationOutcome (this API, the gateway's
// middleware and access guard, the portal) and by Bundle responses
// (interaction.Status).
func Status(err error) int { return interaction.Status(err) }

// writeError renders err as an OperationOutcome with its status.
func writeError(c *gin.Context, err error) {
	oe := outcome.From(err)
	status := Status(oe)
	if status >= 500 {
		_ = c.Error(err) // the logging middleware reports the cause
	}
	if oe.Category == outcome.Denied && len(oe.Issues) > 0 {
		// Refused for the token's scopes (RFC 6750 §3.1), as the access
		// guard's own refusals say.
		c.Header("WWW-Authenticate", `Bearer error="insufficient_scope", error_description="`+
			strings.NewReplacer(`"`, `'`, `\`, `/`).Replace(oe.Issues[0].Diagnostics)+`"`)
	}
	for _, k := range []string{"ETag", "Last-Modified", "Location", "Content-Location"} {
		c.Writer.Header().Del(k)
	}
	c.Header("Cache-Control", "no-store")
	writeBody(c, status, oe.JSON())
}
