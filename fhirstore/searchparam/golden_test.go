package searchparam

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// sampleResources are the real-looking resources in testdata/resources.
func sampleResources(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/resources/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample resources: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = body
	}
	return out
}

func typeOf(t testing.TB, body []byte) string {
	var h struct{ ResourceType string }
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	return h.ResourceType
}

func TestExtract_Golden(t *testing.T) {
	for name, body := range sampleResources(t) {
		t.Run(name, func(t *testing.T) {
			x, err := Extract(typeOf(t, body), body)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(x, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("index of %s differs from %s (run go test -update and review the diff)", name, path)
			}
		})
	}
}

// The fast path must give exactly what the FHIRPath engine gives for the
// same expressions.
func TestExtract_FastPathAgreesWithFHIRPathEngine(t *testing.T) {
	for name, body := range sampleResources(t) {
		t.Run(name, func(t *testing.T) {
			rt := typeOf(t, body)
			fast, err := Extract(rt, body)
			if err != nil {
				t.Fatal(err)
			}
			params, err := compileType(rt, true)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := extract(params, nil, rt, body)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, slow) {
				a, _ := json.MarshalIndent(fast, "", " ")
				b, _ := json.MarshalIndent(slow, "", " ")
				t.Errorf("fast path and FHIRPath engine differ\nfast: %s\nengine: %s", a, b)
			}
		})
	}
}
