package vkp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"hpsandbox/connectors"
	"hpsandbox/connectors/vkp"
	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/interaction"
	"hpsandbox/fhirstore/sqlite"
	"hpsandbox/fhirstore/sqlstore"
	"hpsandbox/fixtures"
	"hpsandbox/sandbox/requestlog"
)

// hub is the connector served over HTTP on a loopback port, as the
// gateway mounts it at /connectors/vkp, over a fresh store.
type hub struct {
	t      testing.TB
	srv    *httptest.Server
	store  fhirstore.Store
	engine *interaction.Engine
	log    *requestlog.MemoryStore
	rec    *requestlog.Recorder
	set    *connectors.Set
	muni   fixtures.Municipality
	// caller is who the requests come from.
	caller connectors.Caller
}

const sandbox = "vkp-test"

func newHub(t testing.TB, opts vkp.Options) *hub {
	store, err := sqlite.Open(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logStore := requestlog.NewMemoryStore(0)
	rec := requestlog.New(logStore, requestlog.Options{Interval: time.Millisecond})
	t.Cleanup(func() { _ = rec.Close(context.Background()) })
	var reg connectors.Registry
	if err := reg.Register(vkp.ID, vkp.OpenWith(opts)); err != nil {
		t.Fatal(err)
	}
	engine := interaction.New(store, interaction.Config{BaseURL: "http://127.0.0.1/fhir"})
	set, err := reg.Open(connectors.Deps{Engine: engine, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{t: t, store: store, engine: engine, log: logStore, rec: rec, set: set, caller: connectors.Caller{Sandbox: sandbox}}
	h.muni = municipality(t, "5006")
	inner := set.Handler("/connectors")
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(connectors.WithCaller(r.Context(), h.caller)))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func municipality(t testing.TB, code string) fixtures.Municipality {
	for _, m := range fixtures.Municipalities() {
		if m.Code == code {
			return m
		}
	}
	t.Fatalf("no municipality %s", code)
	return fixtures.Municipality{}
}

// url is the hub's address of path below the municipality.
func (h *hub) url(path string) string {
	return h.srv.URL + "/connectors/vkp" + vkp.Base + "/" + h.muni.OrgNumber + path
}

func (h *hub) post(path string, body []byte) (int, []byte, http.Header) {
	h.t.Helper()
	return h.do(http.MethodPost, h.url(path), body)
}

func (h *hub) do(method, u string, body []byte) (int, []byte, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/fhir+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// search runs a FHIR search in the sandbox's store, as an EHR-side app
// would see it.
func (h *hub) search(typ, query string) []map[string]any {
	h.t.Helper()
	params, _ := parseQuery(query)
	page, err := h.engine.Search(context.Background(), sandbox, typ, params)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range page.Matches {
		var r map[string]any
		if err := json.Unmarshal(m.Body, &r); err != nil {
			h.t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func (h *hub) versions() int {
	h.t.Helper()
	p, err := h.store.History(context.Background(), sandbox, fhirstore.HistoryQuery{})
	if err != nil {
		h.t.Fatal(err)
	}
	return p.Total
}

func readFile(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit returns the Bundle with fn applied to the decoded document.
func edit(t testing.TB, doc []byte, fn func(b map[string]any)) []byte {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var b map[string]any
	if err := dec.Decode(&b); err != nil {
		t.Fatal(err)
	}
	fn(b)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// resource is entry i's resource of a decoded Bundle.
func resource(b map[string]any, i int) map[string]any {
	return b["entry"].([]any)[i].(map[string]any)["resource"].(map[string]any)
}

// replace swaps every occurrence of old for new in doc.
func replace(doc []byte, old, new string) []byte {
	return []byte(strings.ReplaceAll(string(doc), old, new))
}
