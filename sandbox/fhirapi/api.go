// Package fhirapi is the HTTP adapter of the FHIR R4 REST API of one
// sandbox base: it routes a request (interaction.Route), reads its headers,
// query and body, calls the store or the interaction engine, and renders
// the answer with its status code and headers (ETag, Location,
// Last-Modified, Prefer, content negotiation). What the interactions mean
// is the engine's (fhirstore/interaction) and the store's; errors are
// mapped to statuses in one place (Status).
package fhirapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/outcome"
	"hpsandbox/sandbox/exportjobs"
)

// DefaultMaxBody is the request body limit when Config sets none.
const DefaultMaxBody = 10 << 20

// Config configures an API.
type Config struct {
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// PublicURL, when set, is the absolute URL of the server (scheme and
	// host) used in Location headers and bundle links; otherwise it is taken
	// from the request.
	PublicURL string
	// ExportJobs keeps the Bulk Data export jobs and their files, which
	// gateways sharing it all answer for; nil keeps them in this process
	// (exportjobs.Memory, files in ExportDir). The caller closes it.
	ExportJobs exportjobs.Store
	// ExportDir holds Bulk Data export files when ExportJobs is nil; a
	// temporary directory when empty.
	ExportDir string
	// ExportHeartbeat is how often the gateway running an export says so
	// in ExportJobs (DefaultExportHeartbeat when zero); an export six
	// beats late is given up as failed.
	ExportHeartbeat time.Duration
	// ConditionalDeleteMax is how many resources one conditional delete may
	// remove (DefaultConditionalDeleteMax when zero); more matches give 412.
	ConditionalDeleteMax int
	// Software names the server in the CapabilityStatement.
	Software, Version string
	// Security, when set, is the CapabilityStatement's rest.security (a
	// JSON object), e.g. the SMART on FHIR service and OAuth endpoints.
	Security json.RawMessage
	// Definitions are the per-sandbox definitions of $validate and
	// enforcement, shared with the other engines over the store (the API's
	// own when nil).
	Definitions *interaction.DefinitionCache
	// Enforcement says which profiles writes into a sandbox must conform
	// to; nothing when nil.
	Enforcement interaction.EnforcementFunc
	// WebsocketURL, when set, returns the subscription websocket of the
	// sandbox whose FHIR base is base, which the CapabilityStatement
	// advertises (capabilitystatement-websocket).
	WebsocketURL func(base string) string
}

// DefaultConditionalDeleteMax is how many resources one conditional delete
// may remove when Config sets nothing.
const DefaultConditionalDeleteMax = interaction.DefaultConditionalDeleteMax

// API serves the FHIR interactions.
type API struct {
	store   fhirstore.Store
	engine  *interaction.Engine
	cfg     Config
	caps    *capabilities
	exports *exports
}

// New returns an API over store.
func New(store fhirstore.Store, cfg Config) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBody
	}
	if cfg.ConditionalDeleteMax <= 0 {
		cfg.ConditionalDeleteMax = DefaultConditionalDeleteMax
	}
	engine := interaction.New(store, interaction.Config{ConditionalDeleteMax: cfg.ConditionalDeleteMax,
		Definitions: cfg.Definitions, Enforcement: cfg.Enforcement})
	return &API{store: store, engine: engine, cfg: cfg, caps: newCapabilities(cfg), exports: newExports(cfg)}
}

// SandboxFunc names the sandbox a request addresses.
type SandboxFunc func(c *gin.Context) string

// Mount serves the FHIR API under g, whose path is the FHIR base. Every
// path below it is routed here, so that unknown paths also answer with an
// OperationOutcome.
func (a *API) Mount(g *gin.RouterGroup, sandbox SandboxFunc) {
	h := func(c *gin.Context) { a.serve(c, sandbox(c)) }
	g.Any("", h)
	g.Any("/*path", h)
}

// request is one FHIR request after routing.
type request struct {
	c       *gin.Context
	in      *interaction.Request
	sandbox fhirstore.Sandbox
	typ, id string
	// publicURL is the API's (Config.PublicURL); baseURL is made from it
	// by base, when an interaction needs it (a read by id does not).
	publicURL, baseURL string
}

// base is the absolute FHIR base URL the request came through, without
// trailing slash (BaseURL).
func (r *request) base() string {
	if r.baseURL == "" {
		r.baseURL = BaseURL(r.c, r.publicURL)
	}
	return r.baseURL
}

func (a *API) serve(c *gin.Context, sandbox string) {
	if err := checkFormat(c); err != nil {
		writeError(c, err)
		return
	}
	in, err := interaction.RequestOf(c.Request.Context()), error(nil)
	if in == nil {
		in, err = interaction.Route(c.Request.Method, c.Param("path"))
	}
	if err != nil {
		var na *interaction.NotAllowedError
		if errors.As(err, &na) {
			c.Header("Allow", na.Allow)
		}
		writeError(c, err)
		return
	}
	r := &request{c: c, in: in, sandbox: fhirstore.Sandbox(sandbox), publicURL: a.cfg.PublicURL, typ: in.Type, id: in.ID}
	a.serveRouted(in, r)
}

type handler func(r *request, segs []string)

// serveRouted serves a routed interaction. It calls the methods rather
// than returning them as values, which would allocate a closure per
// request.
func (a *API) serveRouted(in *interaction.Request, r *request) {
	segs := in.Segments
	switch in.Kind {
	case interaction.Capabilities:
		a.capabilityStatement(r, segs)
	case interaction.Read:
		a.read(r, segs)
	case interaction.VRead:
		a.vread(r, segs)
	case interaction.Update:
		a.update(r, segs)
	case interaction.ConditionalUpdate:
		a.conditionalUpdate(r, segs)
	case interaction.Patch:
		a.patch(r, segs)
	case interaction.Delete:
		a.delete(r, segs)
	case interaction.ConditionalDelete:
		a.conditionalDelete(r, segs)
	case interaction.Create:
		a.create(r, segs)
	case interaction.SearchType:
		a.search(r, segs)
	case interaction.SearchSystem:
		a.searchSystem(r, segs)
	case interaction.SearchCompartment:
		a.searchCompartment(r, segs)
	case interaction.HistoryInstance, interaction.HistoryType, interaction.HistorySystem:
		a.history(r, segs)
	case interaction.Bundle:
		a.bundle(r, segs)
	case interaction.Operation:
		a.operation(in)(r, segs)
	default:
		writeError(r.c, outcome.New(outcome.Missing, outcome.NotFound, "no FHIR interaction at %q", r.c.Request.URL.Path))
	}
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// baseURL is the absolute URL of the FHIR base the request came through.
func (a *API) baseURL(c *gin.Context) string { return BaseURL(c, a.cfg.PublicURL) }

// BaseURL is the absolute URL of the FHIR base a request came through:
// publicURL (the server's, when configured) or the scheme and host the
// request names, and the path of the group the API is mounted on.
func BaseURL(c *gin.Context, publicURL string) string {
	root := strings.TrimRight(publicURL, "/")
	if root == "" {
		scheme := "http"
		if c.Request.TLS != nil {
			scheme = "https"
		}
		if p := c.GetHeader("X-Forwarded-Proto"); p == "https" || p == "http" {
			scheme = p
		}
		root = scheme + "://" + c.Request.Host
	}
	path := c.FullPath()
	path = strings.TrimSuffix(strings.TrimSuffix(path, "/*path"), "/")
	// Replace route parameters (a sandbox id) with their values.
	for _, p := range c.Params {
		if p.Key != "path" {
			path = strings.Replace(path, ":"+p.Key, p.Value, 1)
		}
	}
	return root + path
}

// setVersionHeaders sets ETag and Last-Modified of a version.
// The header map is written under the canonical keys directly; both values
// are cut from one string, and both slices share one array.
func setVersionHeaders(c *gin.Context, v *fhirstore.Resource) {
	var buf [64]byte
	b := append(buf[:0], `W/"`...)
	b = strconv.AppendInt(b, v.Version, 10)
	b = append(b, '"')
	n := len(b)
	b = v.LastUpdated.UTC().AppendFormat(b, http.TimeFormat)
	s := string(b)
	vals := [2]string{s[:n], s[n:]}
	h := c.Writer.Header()
	h["Etag"], h["Last-Modified"] = vals[0:1:1], vals[1:2:2]
}
