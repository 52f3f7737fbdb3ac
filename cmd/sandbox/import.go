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
	"slices"
	"strings"
	"sync"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
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
	profile := cpuProfileFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: sandbox import [--data DIR] [--sandbox ID] FILE.ndjson|FILE.json …")
	}
	store, err := openStore(ctx, cfg, sqlstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	stopProfile, err := startCPUProfile(*profile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start := time.Now()
	bar := newProgress(stderr, "importing")
	src := &importSource{files: fs.Args()}
	defer src.close()
	n, err := fhirstore.LoadStream(ctx, store, fhirstore.Sandbox(*sb), src.next, fhirstore.LoadOptions{
		Atomic: true, Name: src.name,
		Progress:  func(done, _ int) { bar.update(done, max(done, src.total())) },
		Finishing: bar.finishing,
	})
	if err != nil {
		return err
	}
	bar.done()
	took := time.Since(start)
	fmt.Fprintf(stderr, "imported %d resources into sandbox %q in %s (%.0f resources/s)\n", n, *sb, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}

// importPiece is how many resources importSource hands over at a time.
const importPiece = 1000

// importSource reads the files of an import a piece at a time, so that
// memory holds a few pieces whatever the input's size: NDJSON files
// (*.ndjson) line by line, other files (one resource, or a Bundle whose
// entries' resources are taken) whole. It remembers where the resources of
// the last pieces came from, to name them in errors.
type importSource struct {
	files []string
	file  int // index of the file being read
	f     *os.File
	sc    *bufio.Scanner
	line  int
	read  int // resources handed over so far

	mu      sync.Mutex
	origins []importOrigin // of the latest pieces, oldest first
	bytes   struct{ done, all int64 }
}

// importOrigin says where the resources of one piece came from.
type importOrigin struct {
	offset int
	file   string
	lines  []int // line of each resource in an NDJSON file; nil otherwise
}

// next returns the next piece of resources, nil at the end.
func (s *importSource) next() ([][]byte, error) {
	var out [][]byte
	var lines []int
	var consumed int64
	if s.file == 0 && s.sc == nil && s.read == 0 {
		var all int64
		for _, name := range s.files {
			if fi, err := os.Stat(name); err == nil {
				all += fi.Size()
			}
		}
		s.mu.Lock()
		s.bytes.all = all
		s.mu.Unlock()
	}
	for len(out) < importPiece && s.file < len(s.files) {
		name := s.files[s.file]
		if !strings.HasSuffix(name, ".ndjson") {
			if len(out) > 0 { // a whole file is a piece of its own
				break
			}
			got, err := readImportFile(name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if fi, err := os.Stat(name); err == nil {
				consumed += fi.Size()
			}
			s.file++
			out = got
			break
		}
		if s.sc == nil {
			f, err := os.Open(name)
			if err != nil {
				return nil, err
			}
			s.f, s.line = f, 0
			s.sc = bufio.NewScanner(f)
			s.sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		}
		if !s.sc.Scan() {
			err := s.sc.Err()
			s.f.Close()
			s.f, s.sc = nil, nil
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			s.file++
			if len(out) > 0 {
				break // a piece names one file
			}
			continue
		}
		s.line++
		line := s.sc.Bytes()
		consumed += int64(len(line)) + 1
		if s.line == 1 {
			line = fhirjson.TrimBOM(line)
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if !json.Valid(line) {
			return nil, fmt.Errorf("%s: line %d is not JSON", name, s.line)
		}
		out = append(out, append([]byte(nil), line...))
		lines = append(lines, s.line)
	}
	if len(out) == 0 {
		return nil, nil
	}
	file := s.files[min(s.file, len(s.files)-1)]
	if lines == nil || s.sc == nil {
		file = s.files[s.file-1] // the piece finished its file
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bytes.done += consumed
	s.origins = append(s.origins, importOrigin{offset: s.read, file: file, lines: lines})
	// Errors name resources of the pieces being validated or written: a
	// few behind the newest.
	if len(s.origins) > 8 {
		s.origins = slices.Delete(s.origins, 0, len(s.origins)-8)
	}
	s.read += len(out)
	return out, nil
}

// name names the resource at index i of the input in errors; it is safe
// for concurrent use.
func (s *importSource) name(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := len(s.origins) - 1; k >= 0; k-- {
		o := s.origins[k]
		if i < o.offset {
			continue
		}
		if o.lines != nil && i-o.offset < len(o.lines) {
			return fmt.Sprintf("%s line %d", o.file, o.lines[i-o.offset])
		}
		return fmt.Sprintf("%s resource %d", o.file, i-o.offset+1)
	}
	return fmt.Sprintf("resource %d", i)
}

// total estimates the resources of the whole input from the share of its
// bytes read so far, for the progress bar; it is safe for concurrent use.
func (s *importSource) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes.done <= 0 || s.bytes.all <= 0 {
		return s.read
	}
	return int(float64(s.read) * float64(s.bytes.all) / float64(s.bytes.done))
}

func (s *importSource) close() {
	if s.f != nil {
		s.f.Close()
	}
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
