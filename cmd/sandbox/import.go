package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/sandbox"
)

// importCmd is `sandbox import FILE…`: loads NDJSON files (one resource a
// line) and Bundles into a sandbox, all-or-nothing per run.
func importCmd(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg := sandbox.Defaults()
	if err := cfg.LoadEnv(getenv); err != nil {
		return err
	}
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory of the embedded store (env HPS_DATA)")
	sb := fs.String("sandbox", fhirstore.DefaultSandbox, "sandbox to load into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: sandbox import [--data DIR] [--sandbox ID] FILE.ndjson|FILE.json …")
	}
	var bodies [][]byte
	for _, name := range fs.Args() {
		got, err := readImportFile(name)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		bodies = append(bodies, got...)
	}
	store, err := sqlite.Open(ctx, cfg.DataDir, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	bar := newProgress(stderr, "importing")
	if err := fhirstore.Load(ctx, store, fhirstore.Sandbox(*sb), bodies, fhirstore.LoadOptions{Progress: bar.update}); err != nil {
		return err
	}
	bar.done()
	fmt.Fprintf(stderr, "imported %d resources into sandbox %q in %s\n", len(bodies), *sb, time.Since(start).Round(time.Millisecond))
	return nil
}

// readImportFile reads the resources of one file: NDJSON, or one JSON
// resource, which when it is a Bundle contributes its entries' resources.
func readImportFile(name string) ([][]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	// A byte-order mark, as Windows tools write, is ignored as by the API.
	trimmed := bytes.TrimSpace(fhirjson.TrimBOM(data))
	if strings.HasSuffix(name, ".ndjson") {
		return splitNDJSON(trimmed)
	}
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(trimmed, &head); err != nil {
		// Not one JSON value: try NDJSON before giving up.
		if lines, nerr := splitNDJSON(trimmed); nerr == nil {
			return lines, nil
		}
		return nil, fmt.Errorf("neither a JSON resource nor NDJSON: %v", err)
	}
	if head.ResourceType == "Bundle" {
		return bundleResources(trimmed)
	}
	return [][]byte{trimmed}, nil
}

func splitNDJSON(data []byte) ([][]byte, error) {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil, fmt.Errorf("line %d is not JSON", n)
		}
		out = append(out, append([]byte(nil), line...))
	}
	return out, sc.Err()
}

// bundleResources returns a Bundle's entry resources with ids: an entry
// without one takes the uuid of its urn:uuid fullUrl (or a new id), and
// references to such fullUrls are rewritten to Type/id, so that bundles
// written for a transaction load the same every time.
func bundleResources(data []byte) ([][]byte, error) {
	var b struct {
		Entry []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, err
	}
	type item struct {
		body   []byte
		id     string
		hadID  bool
		typeOf string
	}
	items := make([]item, 0, len(b.Entry))
	ids := map[string]string{} // fullUrl → Type/id
	for i, e := range b.Entry {
		if len(e.Resource) == 0 {
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Resource); err != nil {
			return nil, fmt.Errorf("entry %d: %v", i, err)
		}
		var head struct{ ResourceType, ID string }
		json.Unmarshal(buf.Bytes(), &head)
		it := item{body: buf.Bytes(), id: head.ID, hadID: head.ID != "", typeOf: head.ResourceType}
		if it.id == "" {
			if uuid, ok := strings.CutPrefix(e.FullURL, "urn:uuid:"); ok && fhirjson.ValidID(uuid) {
				it.id = uuid
			} else {
				it.id = fhirstore.NewID()
			}
		}
		if e.FullURL != "" {
			ids[e.FullURL] = it.typeOf + "/" + it.id
		}
		items = append(items, it)
	}
	out := make([][]byte, 0, len(items))
	for _, it := range items {
		body, err := fhirjson.MapReferences(it.body, func(ref string) (string, bool, error) {
			target, ok := ids[ref]
			return target, ok, nil
		})
		if err != nil {
			return nil, err
		}
		if !it.hadID {
			body = append([]byte(`{"id":`+jsonQuote(it.id)+`,`), body[1:]...)
		}
		out = append(out, body)
	}
	return out, nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
