package guides

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// reference is an OpenAPI document as the reference page shows it: its
// operations grouped by their first tag, in the document's tag order.
type reference struct {
	Title       string
	Description string
	Version     string
	Paths       int
	Operations  []operation
	Groups      []group
}

type group struct {
	ID         string
	Name       string
	Operations []operation
}

type operation struct {
	Method   string
	Path     string
	Summary  string
	Statuses string
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// newReference reads the parts of an OpenAPI document the page shows.
func newReference(doc []byte) (*reference, error) {
	var d struct {
		OpenAPI string `json:"openapi"`
		Info    struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		} `json:"info"`
		Tags  []struct{ Name string } `json:"tags"`
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("the OpenAPI document: %w", err)
	}
	ref := &reference{Title: d.Info.Title, Description: firstParagraph(d.Info.Description), Version: d.OpenAPI, Paths: len(d.Paths)}
	byTag := map[string][]operation{}
	var order []string
	for _, t := range d.Tags {
		order = append(order, t.Name)
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, m := range methods {
			raw, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			var op struct {
				Summary   string                     `json:"summary"`
				Tags      []string                   `json:"tags"`
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, p, err)
			}
			statuses := make([]string, 0, len(op.Responses))
			for s := range op.Responses {
				statuses = append(statuses, s)
			}
			sort.Strings(statuses)
			o := operation{Method: strings.ToUpper(m), Path: p, Summary: op.Summary, Statuses: strings.Join(statuses, " ")}
			tag := "other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			if !slices.Contains(order, tag) {
				order = append(order, tag)
			}
			byTag[tag] = append(byTag[tag], o)
			ref.Operations = append(ref.Operations, o)
		}
	}
	for _, t := range order {
		if ops := byTag[t]; len(ops) > 0 {
			ref.Groups = append(ref.Groups, group{ID: slugify(t), Name: t, Operations: ops})
		}
	}
	return ref, nil
}

func firstParagraph(s string) string {
	p, _, _ := strings.Cut(s, "\n\n")
	return p
}
