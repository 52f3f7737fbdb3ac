package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// object is one Kubernetes manifest as parsed YAML.
type object = map[string]any

// parseYAML reads every document of a (multi-document) YAML file.
func parseYAML(path string) ([]object, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []object
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// kustomization is the part of kustomization.yaml these files use.
type kustomization struct {
	Namespace string   `yaml:"namespace"`
	Resources []string `yaml:"resources"`
	Patches   []struct {
		Path   string `yaml:"path"`
		Target *struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"target"`
	} `yaml:"patches"`
	Images []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
	} `yaml:"images"`
	Labels []struct {
		Pairs map[string]string `yaml:"pairs"`
	} `yaml:"labels"`
}

// render builds the kustomization in dir: its resources (files, or
// directories rendered in turn), then its patches, images, labels and
// namespace. It refuses fields it does not apply, so that a file using
// one fails loudly rather than being checked as if it were applied.
func render(dir string) ([]object, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var known map[string]any
	if err := yaml.Unmarshal(raw, &known); err != nil {
		return nil, err
	}
	for k := range known {
		switch k {
		case "apiVersion", "kind", "namespace", "resources", "patches", "images", "labels":
		default:
			return nil, fmt.Errorf("%s/kustomization.yaml: field %q is not applied by this test's renderer", dir, k)
		}
	}
	var k kustomization
	if err := yaml.Unmarshal(raw, &k); err != nil {
		return nil, err
	}
	var objs []object
	for _, r := range k.Resources {
		path := filepath.Join(dir, r)
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		var got []object
		if fi.IsDir() {
			got, err = render(path)
		} else {
			got, err = parseYAML(path)
		}
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	for _, p := range k.Patches {
		docs, err := parseYAML(filepath.Join(dir, p.Path))
		if err != nil {
			return nil, err
		}
		for _, patch := range docs {
			kind, name := str(patch, "kind"), str(patch, "metadata", "name")
			if p.Target != nil {
				kind, name = p.Target.Kind, p.Target.Name
			}
			target := find(objs, kind, name)
			if target == nil {
				return nil, fmt.Errorf("%s: patch %s targets %s/%s, which no resource is", dir, p.Path, kind, name)
			}
			merge(target, patch)
		}
	}
	for _, img := range k.Images {
		for _, o := range objs {
			for _, c := range containers(o) {
				name, _, _ := strings.Cut(str(c, "image"), ":")
				if name == img.Name || name == img.NewName {
					c["image"] = img.NewName + ":" + img.NewTag
				}
			}
		}
	}
	for _, l := range k.Labels {
		for _, o := range objs {
			meta := o["metadata"].(object)
			labels, _ := meta["labels"].(object)
			if labels == nil {
				labels = object{}
				meta["labels"] = labels
			}
			for key, v := range l.Pairs {
				labels[key] = v
			}
		}
	}
	if k.Namespace != "" {
		for _, o := range objs {
			o["metadata"].(object)["namespace"] = k.Namespace
		}
	}
	return objs, nil
}

// merge applies a strategic-merge patch the way kustomize does for these
// files: maps merge key by key, lists of named maps merge item by name,
// other lists and values are replaced.
func merge(dst, patch object) {
	for k, pv := range patch {
		dv, ok := dst[k]
		if !ok {
			dst[k] = pv
			continue
		}
		switch p := pv.(type) {
		case object:
			if d, ok := dv.(object); ok {
				merge(d, p)
				continue
			}
		case []any:
			if d, ok := dv.([]any); ok && named(p) && named(d) {
				dst[k] = mergeNamed(d, p)
				continue
			}
		}
		dst[k] = pv
	}
}

func named(list []any) bool {
	for _, v := range list {
		m, ok := v.(object)
		if !ok || m["name"] == nil {
			return false
		}
	}
	return len(list) > 0
}

func mergeNamed(dst, patch []any) []any {
	for _, pv := range patch {
		p := pv.(object)
		found := false
		for _, dv := range dst {
			if d := dv.(object); d["name"] == p["name"] {
				merge(d, p)
				found = true
			}
		}
		if !found {
			dst = append(dst, p)
		}
	}
	return dst
}

// find returns the object of kind and name.
func find(objs []object, kind, name string) object {
	for _, o := range objs {
		if str(o, "kind") == kind && str(o, "metadata", "name") == name {
			return o
		}
	}
	return nil
}

// all returns the objects of kind.
func all(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if str(o, "kind") == kind {
			out = append(out, o)
		}
	}
	return out
}

// get walks o by keys; nil when a step is missing.
func get(o any, keys ...string) any {
	for _, k := range keys {
		m, ok := o.(object)
		if !ok {
			return nil
		}
		o = m[k]
	}
	return o
}

// str is get as a string ("" when missing or not a string).
func str(o any, keys ...string) string {
	s, _ := get(o, keys...).(string)
	return s
}

// list is get as a list.
func list(o any, keys ...string) []any {
	l, _ := get(o, keys...).([]any)
	return l
}

// podSpec is the pod template's spec of a Deployment or Job.
func podSpec(o object) object {
	s, _ := get(o, "spec", "template", "spec").(object)
	return s
}

// containers are a workload's containers (none for other kinds).
func containers(o object) []object {
	var out []object
	for _, c := range list(podSpec(o), "containers") {
		if m, ok := c.(object); ok {
			out = append(out, m)
		}
	}
	return out
}
