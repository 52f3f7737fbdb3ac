package fhirapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"hpsandbox/fhirstore/fhirjson"
)

// capabilities renders the CapabilityStatement. It describes what the
// router above serves, for every resource type the validator knows; when an
// interaction is added to the router it is added here, and the API tests
// check the two agree.
type capabilities struct {
	cfg     Config
	started time.Time
	mu      sync.Mutex
	byBase  map[string][]byte
}

func newCapabilities(cfg Config) *capabilities {
	return &capabilities{cfg: cfg, started: time.Now().UTC(), byBase: map[string][]byte{}}
}

type capabilityJSON struct {
	ResourceType   string            `json:"resourceType"`
	Status         string            `json:"status"`
	Date           string            `json:"date"`
	Publisher      string            `json:"publisher"`
	Kind           string            `json:"kind"`
	Software       map[string]string `json:"software"`
	Implementation map[string]string `json:"implementation"`
	FHIRVersion    string            `json:"fhirVersion"`
	Format         []string          `json:"format"`
	PatchFormat    []string          `json:"patchFormat"`
	Rest           []restJSON        `json:"rest"`
}

type restJSON struct {
	Extension   []extension     `json:"extension,omitempty"`
	Mode        string          `json:"mode"`
	Security    json.RawMessage `json:"security,omitempty"`
	Resource    []capResource   `json:"resource"`
	Interaction []code          `json:"interaction"`
	Operation   []capOperation  `json:"operation,omitempty"`
}

type extension struct {
	URL      string `json:"url"`
	ValueURI string `json:"valueUri"`
}

// websocketExtension names the websocket of Subscriptions (R4).
const websocketExtension = "http://hl7.org/fhir/StructureDefinition/capabilitystatement-websocket"

type code struct {
	Code string `json:"code"`
}

type capResource struct {
	Type              string         `json:"type"`
	Profile           string         `json:"profile"`
	Interaction       []code         `json:"interaction"`
	Versioning        string         `json:"versioning"`
	ReadHistory       bool           `json:"readHistory"`
	UpdateCreate      bool           `json:"updateCreate"`
	ConditionalCreate bool           `json:"conditionalCreate"`
	ConditionalRead   string         `json:"conditionalRead"`
	ConditionalUpdate bool           `json:"conditionalUpdate"`
	ConditionalDelete string         `json:"conditionalDelete"`
	Operation         []capOperation `json:"operation,omitempty"`
	SearchInclude     []string       `json:"searchInclude,omitempty"`
	SearchRevInclude  []string       `json:"searchRevInclude,omitempty"`
	SearchParam       []capSearch    `json:"searchParam,omitempty"`
}

type capOperation struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

// typeInteractions are the type and instance interactions the router serves.
var typeInteractions = []string{"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"}

// Operations of one level: Bulk Data export (FHIR Bulk Data Access IG) and
// Patient $everything.
var (
	systemOperations = []capOperation{{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"}}
	levelExports     = map[string][]capOperation{
		"Patient": {
			{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"},
			{Name: "everything", Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"},
		},
		"Group": {{Name: "export", Definition: "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}},
	}
)

// typeOperations are the operations served on every type.
var typeOperations = []capOperation{
	{Name: "validate", Definition: "http://hl7.org/fhir/OperationDefinition/Resource-validate"},
	{Name: "meta", Definition: "http://hl7.org/fhir/OperationDefinition/Resource-meta"},
	{Name: "meta-add", Definition: "http://hl7.org/fhir/OperationDefinition/Resource-meta-add"},
	{Name: "meta-delete", Definition: "http://hl7.org/fhir/OperationDefinition/Resource-meta-delete"},
}

// systemInteractions are the system interactions the router serves.
var systemInteractions = []string{"transaction", "batch", "history-system", "search-system"}

func (c *capabilities) json(base string) []byte {
	conditionalDelete := "single"
	if c.cfg.ConditionalDeleteMax > 1 {
		conditionalDelete = "multiple"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.byBase[base]; ok {
		return b
	}
	var resources []capResource
	for _, t := range fhirjson.Types() {
		r := capResource{
			Type:              t,
			Profile:           "http://hl7.org/fhir/StructureDefinition/" + t,
			Versioning:        "versioned-update",
			ReadHistory:       true,
			UpdateCreate:      true,
			ConditionalRead:   "full-support",
			ConditionalCreate: true,
			ConditionalUpdate: true,
			ConditionalDelete: conditionalDelete,
			Operation:         slices.Concat(typeOperations, levelExports[t]),
		}
		for _, i := range typeInteractions {
			r.Interaction = append(r.Interaction, code{i})
		}
		r.SearchParam, r.SearchInclude, r.SearchRevInclude = searchCapability(t)
		resources = append(resources, r)
	}
	var sys []code
	for _, i := range systemInteractions {
		sys = append(sys, code{i})
	}
	software := c.cfg.Software
	if software == "" {
		software = "HP Sandbox"
	}
	doc := capabilityJSON{
		ResourceType: "CapabilityStatement",
		Status:       "active",
		Date:         fhirjson.FormatInstant(c.started),
		Publisher:    software,
		Kind:         "instance",
		Software:     map[string]string{"name": software, "version": c.cfg.Version},
		Implementation: map[string]string{
			"description": software + " FHIR R4 server over synthetic patients",
			"url":         base,
		},
		FHIRVersion: "4.0.1",
		Format:      []string{"application/fhir+json", "json"},
		PatchFormat: []string{"application/json-patch+json"},
		Rest:        []restJSON{{Mode: "server", Security: c.cfg.Security, Resource: resources, Interaction: sys, Operation: systemOperations}},
	}
	if c.cfg.WebsocketURL != nil {
		doc.Rest[0].Extension = []extension{{URL: websocketExtension, ValueURI: c.cfg.WebsocketURL(base)}}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // only strings, bools, maps and slices of them
	}
	c.byBase[base] = b
	return b
}

// CapabilityStatement returns the statement served at [base]/metadata
// for a FHIR base, for documents generated from it (the OpenAPI one).
func (a *API) CapabilityStatement(base string) []byte { return a.caps.json(base) }

func (a *API) capabilityStatement(r *request, _ []string) {
	writeBody(r.c, http.StatusOK, a.caps.json(r.base()))
}
