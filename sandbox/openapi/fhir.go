package openapi

import (
	"encoding/json"
	"slices"
)

// capability is the part of a CapabilityStatement the document is made of.
type capability struct {
	Rest []struct {
		Resource []struct {
			Type              string   `json:"type"`
			Interaction       []code   `json:"interaction"`
			ConditionalCreate bool     `json:"conditionalCreate"`
			ConditionalUpdate bool     `json:"conditionalUpdate"`
			ConditionalDelete string   `json:"conditionalDelete"`
			Operation         []opDef  `json:"operation"`
			SearchInclude     []string `json:"searchInclude"`
			SearchRevInclude  []string `json:"searchRevInclude"`
			SearchParam       []struct {
				Name       string `json:"name"`
				Type       string `json:"type"`
				Definition string `json:"definition"`
			} `json:"searchParam"`
		} `json:"resource"`
		Interaction []code  `json:"interaction"`
		Operation   []opDef `json:"operation"`
	} `json:"rest"`
}

type code struct {
	Code string `json:"code"`
}

type opDef struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

func has(codes []code, c string) bool {
	return slices.ContainsFunc(codes, func(x code) bool { return x.Code == c })
}

const fhirJSON = "application/fhir+json"

// fhirBody is content of a FHIR resource of the schema named.
func fhirBody(schema string) object {
	return object{fhirJSON: object{"schema": ref("schemas", schema)}}
}

func fhirAnswer(desc, schema string) object {
	return object{"description": desc, "content": fhirBody(schema)}
}

// addFHIR adds the FHIR interactions the CapabilityStatement names.
func (d *doc) addFHIR(raw []byte, base string) error {
	var c capability
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	d.security["smartBearer"] = object{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
		"description": "A SMART access token of the sandbox. The default sandbox also answers without one (unless started --secure); a token that is sent is always checked."}
	for _, s := range []struct {
		name string
		v    object
	}{
		{"fhir.Resource", object{"type": "object", "required": []string{"resourceType"},
			"properties": object{"resourceType": str(""), "id": str(""), "meta": object{"type": "object"}}}},
		{"fhir.OperationOutcome", object{"type": "object", "required": []string{"resourceType", "issue"},
			"properties": object{"resourceType": object{"const": "OperationOutcome"}, "issue": object{"type": "array", "minItems": 1,
				"items": object{"type": "object", "required": []string{"severity", "code"}, "properties": object{
					"severity": object{"enum": []string{"fatal", "error", "warning", "information"}}, "code": str("IssueType"),
					"diagnostics": str(""), "expression": object{"type": "array", "items": object{"type": "string"}}}}}}}},
		{"fhir.Bundle", object{"type": "object", "required": []string{"resourceType", "type"},
			"properties": object{"resourceType": object{"const": "Bundle"},
				"type":  object{"enum": []string{"document", "message", "transaction", "transaction-response", "batch", "batch-response", "history", "searchset", "collection"}},
				"total": object{"type": "integer", "minimum": 0},
				"link":  object{"type": "array", "items": object{"type": "object", "required": []string{"relation", "url"}}},
				"entry": object{"type": "array", "items": object{"type": "object", "properties": object{"resource": ref("schemas", "fhir.Resource")}}}}}},
	} {
		if err := put(d.schemas, s.name, s.v); err != nil {
			return err
		}
	}
	d.responses["fhir.Error"] = fhirAnswer("An OperationOutcome saying what was wrong: 400 unreadable, 401/403 token, 404/410 not there or deleted, 412 precondition, 413/415 body, 422 rules broken", "fhir.OperationOutcome")
	d.responses["fhir.ServerError"] = fhirAnswer("An OperationOutcome: 500, or 503 when a search ran past its time", "fhir.OperationOutcome")
	d.parameters["fhir.id"] = pathParam("id", "The resource's logical id, [A-Za-z0-9.-]{1,64}")
	d.parameters["fhir.vid"] = pathParam("vid", "The version id")
	for _, p := range []struct{ name, desc string }{
		{"_count", "Page size"}, {"_sort", "Sort keys, comma-separated, - for descending"}, {"_include", "Add referenced resources"},
		{"_revinclude", "Add referencing resources"}, {"_elements", "Keep only these elements"}, {"_summary", "true, false, text, data or count"},
		{"_total", "none, estimate or accurate"}, {"_since", "Only versions since this instant"}, {"_type", "Resource types, comma-separated"},
		{"_pretty", "Indent the answer"},
	} {
		d.parameters["fhir."+p.name] = object{"name": p.name, "in": "query", "description": p.desc, "schema": object{"type": "string"}}
	}
	common := func(names ...string) []any {
		var out []any
		for _, n := range names {
			out = append(out, ref("parameters", "fhir."+n))
		}
		return out
	}
	errs := object{"4XX": ref("responses", "fhir.Error"), "5XX": ref("responses", "fhir.ServerError")}
	with := func(ok object) object {
		out := object{}
		for k, v := range errs {
			out[k] = v
		}
		for k, v := range ok {
			out[k] = v
		}
		return out
	}
	security := []object{{}, {"smartBearer": []string{}}}
	op := func(tag, summary, id string, params []any, body object, answers object) object {
		o := object{"tags": []string{tag}, "summary": summary, "operationId": operationID("fhir", id), "responses": with(answers), "security": security}
		if len(params) > 0 {
			o["parameters"] = params
		}
		if body != nil {
			o["requestBody"] = object{"required": true, "content": body}
		}
		return o
	}
	set := func(path, method string, o object) {
		item, _ := d.paths[path].(object)
		if item == nil {
			item = object{}
			d.paths[path] = item
		}
		item[method] = o
	}
	header := func(name, desc string) object {
		return object{"name": name, "in": "header", "description": desc, "schema": object{"type": "string"}}
	}
	if len(c.Rest) == 0 {
		return nil
	}
	rest := c.Rest[0]
	d.tags = append(d.tags, object{"name": "FHIR system", "description": "Interactions on the whole FHIR base"})
	set(base+"/metadata", "get", op("FHIR system", "The CapabilityStatement", "capabilities", nil, nil,
		object{"200": fhirAnswer("What the server serves", "fhir.Resource")}))
	if has(rest.Interaction, "transaction") || has(rest.Interaction, "batch") {
		set(base, "post", op("FHIR system", "transaction or batch Bundle", "transactionOrBatch", nil, fhirBody("fhir.Bundle"),
			object{"200": fhirAnswer("transaction-response or batch-response", "fhir.Bundle")}))
	}
	if has(rest.Interaction, "search-system") {
		set(base, "get", op("FHIR system", "Search across types (_type)", "searchSystem", common("_type", "_count", "_sort", "_elements", "_summary", "_total"), nil,
			object{"200": fhirAnswer("searchset", "fhir.Bundle")}))
	}
	if has(rest.Interaction, "history-system") {
		set(base+"/_history", "get", op("FHIR system", "History of the whole sandbox", "historySystem", common("_count", "_since"), nil,
			object{"200": fhirAnswer("history", "fhir.Bundle")}))
	}
	for _, o := range rest.Operation {
		if o.Name == "export" {
			d.addExport(base, "", "exportSystem", set, op, header)
		}
	}
	var types []string
	for _, r := range rest.Resource {
		t := r.Type
		schema := "fhir." + t
		if _, common := d.schemas[schema]; !common {
			// Bundle and OperationOutcome have their own schemas above.
			types = append(types, t)
		}
		d.tags = append(d.tags, object{"name": t, "description": "http://hl7.org/fhir/R4/" + lower(t) + ".html"})
		typePath, instPath := base+"/"+t, base+"/"+t+"/{id}"
		id := []any{ref("parameters", "fhir.id")}
		if has(r.Interaction, "search-type") {
			params := common("_count", "_sort", "_include", "_revinclude", "_elements", "_summary", "_total")
			for _, sp := range r.SearchParam {
				params = append(params, object{"name": sp.Name, "in": "query", "description": sp.Type + " search parameter, " + sp.Definition, "schema": object{"type": "string"}})
			}
			set(typePath, "get", op(t, "Search "+t, operationID("search", t), params, nil, object{"200": fhirAnswer("searchset", "fhir.Bundle")}))
			set(typePath+"/_search", "post", op(t, "Search "+t+" with a form body", operationID("search", t, "post"), nil,
				object{"application/x-www-form-urlencoded": object{"schema": object{"type": "object"}}}, object{"200": fhirAnswer("searchset", "fhir.Bundle")}))
		}
		if has(r.Interaction, "create") {
			var params []any
			if r.ConditionalCreate {
				params = []any{header("If-None-Exist", "Conditional create: search criteria")}
			}
			set(typePath, "post", op(t, "Create a "+t, operationID("create", t), params, fhirBody(schema), object{
				"201": fhirAnswer("Created", schema), "200": fhirAnswer("A conditional create found the resource", schema)}))
		}
		if r.ConditionalUpdate {
			set(typePath, "put", op(t, "Conditional update of a "+t, operationID("update", t, "conditional"), nil, fhirBody(schema),
				object{"200": fhirAnswer("Updated", schema), "201": fhirAnswer("Created", schema)}))
		}
		if r.ConditionalDelete != "" && r.ConditionalDelete != "not-supported" {
			set(typePath, "delete", op(t, "Conditional delete of "+t, operationID("delete", t, "conditional"), nil, nil,
				object{"204": object{"description": "Deleted, or nothing matched"}, "200": fhirAnswer("Deleted, with an OperationOutcome", "fhir.OperationOutcome")}))
		}
		if has(r.Interaction, "read") {
			set(instPath, "get", op(t, "Read a "+t, operationID("read", t), append(id, header("If-None-Match", "ETag of the version the client has")), nil,
				object{"200": fhirAnswer("The current version", schema), "304": object{"description": "Not modified"}}))
		}
		if has(r.Interaction, "update") {
			set(instPath, "put", op(t, "Update a "+t, operationID("update", t), append(id, header("If-Match", "W/\"n\": update only that version")), fhirBody(schema),
				object{"200": fhirAnswer("Updated", schema), "201": fhirAnswer("Created with this id", schema)}))
		}
		if has(r.Interaction, "patch") {
			set(instPath, "patch", op(t, "Patch a "+t+" (JSON Patch or FHIRPath Patch)", operationID("patch", t), id,
				object{"application/json-patch+json": object{"schema": object{"type": "array"}}, fhirJSON: object{"schema": ref("schemas", "fhir.Resource")}},
				object{"200": fhirAnswer("Patched", schema)}))
		}
		if has(r.Interaction, "delete") {
			set(instPath, "delete", op(t, "Delete a "+t, operationID("delete", t), id, nil,
				object{"204": object{"description": "Deleted; the history is kept"}, "200": fhirAnswer("Deleted, with an OperationOutcome", "fhir.OperationOutcome")}))
		}
		if has(r.Interaction, "vread") {
			set(instPath+"/_history/{vid}", "get", op(t, "Read a version of a "+t, operationID("vread", t), append(id, ref("parameters", "fhir.vid")), nil,
				object{"200": fhirAnswer("The version", schema)}))
		}
		if has(r.Interaction, "history-instance") {
			set(instPath+"/_history", "get", op(t, "History of a "+t, operationID("history", t), append(id, common("_count", "_since")...), nil,
				object{"200": fhirAnswer("history", "fhir.Bundle")}))
		}
		if has(r.Interaction, "history-type") {
			set(typePath+"/_history", "get", op(t, "History of every "+t, operationID("history", t, "type"), common("_count", "_since"), nil,
				object{"200": fhirAnswer("history", "fhir.Bundle")}))
		}
		for _, o := range r.Operation {
			switch o.Name {
			case "validate":
				body := object{fhirJSON: object{"schema": ref("schemas", "fhir.Resource")}}
				answers := object{"200": fhirAnswer("The issues found; nothing is written", "fhir.OperationOutcome")}
				set(typePath+"/$validate", "post", op(t, "Validate a "+t+" ("+o.Definition+")", operationID("validate", t), nil, body, answers))
				set(instPath+"/$validate", "post", op(t, "Validate a "+t+" against the stored one", operationID("validate", t, "instance"), id, body, answers))
			case "meta":
				set(instPath+"/$meta", "get", op(t, "The meta of a "+t, operationID("meta", t), id, nil, object{"200": fhirAnswer("Parameters with the meta", "fhir.Resource")}))
			case "meta-add", "meta-delete":
				set(instPath+"/$"+o.Name, "post", op(t, o.Name+" on a "+t, operationID(o.Name, t), id,
					fhirBody("fhir.Resource"), object{"200": fhirAnswer("Parameters with the meta", "fhir.Resource")}))
			case "everything":
				set(instPath+"/$everything", "get", op(t, "The patient's record ("+o.Definition+")", operationID("everything", t), append(id, common("_count", "_since", "_type")...), nil,
					object{"200": fhirAnswer("searchset", "fhir.Bundle")}))
			case "export":
				if t == "Group" {
					d.addExport(base, "/Group/{id}", "exportGroup", set, op, header)
				} else {
					d.addExport(base, "/"+t, operationID("export", t), set, op, header)
				}
			}
		}
	}
	return d.addResourceSchemas(types)
}

// addExport adds a Bulk Data kick-off below base+at, and the status and
// file endpoints once.
func (d *doc) addExport(base, at, id string, set func(string, string, object), op func(string, string, string, []any, object, object) object, header func(string, string) object) {
	params := []any{header("Prefer", "respond-async (required)"), ref("parameters", "fhir._type"), ref("parameters", "fhir._since")}
	if at == "/Group/{id}" {
		params = append(params, ref("parameters", "fhir.id"))
	}
	set(base+at+"/$export", "get", op("FHIR system", "Bulk Data export kick-off", id, params, nil, object{
		"202": object{"description": "Started: poll the Content-Location", "headers": object{"Content-Location": object{"required": true, "schema": object{"type": "string"}}},
			"content": fhirBody("fhir.OperationOutcome")}}))
	status := base + "/$export-status/{job}"
	if _, done := d.paths[status]; done {
		return
	}
	job := []any{pathParam("job", "The export job")}
	set(status, "get", op("FHIR system", "Bulk Data export status", "exportStatus", job, nil, object{
		"202": object{"description": "Running (X-Progress)"},
		"200": object{"description": "The manifest", "content": object{"application/json": object{"schema": object{"type": "object", "required": []string{"output"}}}}}}))
	set(status, "delete", op("FHIR system", "Cancel or drop an export", "exportDelete", job, nil, object{"202": object{"description": "Dropped"}}))
	set(base+"/$export-file/{job}/{file}", "get", op("FHIR system", "One NDJSON file of an export", "exportFile",
		append(job, pathParam("file", "Type.ndjson")), nil, object{"200": object{"description": "NDJSON", "content": object{"application/fhir+ndjson": object{"schema": object{"type": "string"}}}}}))
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
