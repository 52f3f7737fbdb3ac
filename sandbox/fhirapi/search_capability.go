package fhirapi

import (
	"sort"
	"sync"

	"hpsandbox/fhirstore/searchparam"
)

// capSearch is a CapabilityStatement.rest.resource.searchParam.
type capSearch struct {
	Name       string `json:"name"`
	Definition string `json:"definition,omitempty"`
	Type       string `json:"type"`
}

// revIncludes maps a resource type to the Type:param of every reference
// parameter that can point to it.
var revIncludes = sync.OnceValue(func() map[string][]string {
	out := map[string][]string{}
	for _, src := range searchparam.ResourceTypes() {
		for _, p := range searchparam.ForType(src) {
			if p.Type != searchparam.Reference {
				continue
			}
			for _, t := range p.Targets {
				out[t] = append(out[t], src+":"+p.Code)
			}
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
})

// searchCapability lists what the search layer supports for typ: every
// parameter of the specification's table but the special ones (near and
// the like), the reference parameters as _include values, and the
// references from other types as _revinclude values.
func searchCapability(typ string) (params []capSearch, includes, revincludes []string) {
	for _, p := range searchparam.ForType(typ) {
		if p.Type == searchparam.Special {
			continue
		}
		params = append(params, capSearch{Name: p.Code, Definition: p.URL, Type: p.Type.String()})
		if p.Type == searchparam.Reference {
			includes = append(includes, typ+":"+p.Code)
		}
	}
	if len(includes) > 0 {
		includes = append([]string{"*"}, includes...)
	}
	if rev := revIncludes()[typ]; len(rev) > 0 {
		revincludes = append([]string{"*"}, rev...)
	}
	return params, includes, revincludes
}
