package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// StoreEngine is an Engine straight over a fhirstore.Store: creates are
// validated with fhirjson and stored with Store.Create, and a transaction
// holds creates only, in one Store.Tx. It stands in until the gin-free
// interaction engine (conditional writes, references between entries)
// is adapted to Engine; a bundle that needs more is refused with 422
// not-supported rather than half understood.
type StoreEngine struct {
	Store fhirstore.Store
}

var _ Engine = StoreEngine{}

// Create implements Engine.
func (e StoreEngine) Create(ctx context.Context, sandbox string, resource []byte) (*fhirstore.Resource, error) {
	r, err := fhirjson.Parse(resource)
	if err != nil {
		return nil, err
	}
	return e.Store.Create(ctx, sandbox, r, "")
}

// Transaction implements Engine.
func (e StoreEngine) Transaction(ctx context.Context, sandbox string, bundle []byte) ([]byte, error) {
	if _, err := fhirjson.Parse(bundle); err != nil {
		return nil, err
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource json.RawMessage `json:"resource"`
			Request  struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, outcome.New(http.StatusBadRequest, outcome.Structure, "the bundle cannot be read: %v", err)
	}
	if b.ResourceType != "Bundle" || b.Type != "transaction" {
		return nil, outcome.New(http.StatusBadRequest, outcome.Invalid,
			"want a Bundle of type transaction, got %s of type %q", outcome.Article(b.ResourceType), b.Type).At("Bundle.type")
	}
	parsed := make([]*fhirjson.Resource, len(b.Entry))
	for i, en := range b.Entry {
		at := fmt.Sprintf("Bundle.entry[%d]", i)
		if en.Request.Method != http.MethodPost || len(en.Resource) == 0 {
			return nil, outcome.New(http.StatusUnprocessableEntity, outcome.NotSupported,
				"only creates (request.method POST with a resource) are supported in a connector's transaction").At(at + ".request.method")
		}
		if bytes.Contains(en.Resource, []byte(`"urn:`)) {
			return nil, outcome.New(http.StatusUnprocessableEntity, outcome.NotSupported,
				"references between the entries of a connector's transaction (urn:uuid, urn:oid) are not resolved yet").At(at + ".resource")
		}
		r, err := fhirjson.Parse(en.Resource)
		if err != nil {
			return nil, err
		}
		if en.Request.URL != r.Type {
			return nil, outcome.New(http.StatusBadRequest, outcome.Invalid,
				"request.url %q does not name the entry's resource type %s", en.Request.URL, r.Type).At(at + ".request.url")
		}
		parsed[i] = r
	}
	stored := make([]*fhirstore.Resource, len(parsed))
	err := e.Store.Tx(ctx, func(tx fhirstore.Tx) error {
		for i, r := range parsed {
			s, err := tx.Create(ctx, sandbox, r, "")
			if err != nil {
				return err
			}
			stored[i] = s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return transactionResponse(stored), nil
}

// transactionResponse is the transaction-response Bundle of created
// resources.
func transactionResponse(stored []*fhirstore.Resource) []byte {
	type response struct {
		Status       string `json:"status"`
		Location     string `json:"location"`
		ETag         string `json:"etag"`
		LastModified string `json:"lastModified"`
	}
	type entry struct {
		Response response `json:"response"`
	}
	out := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "transaction-response", Entry: make([]entry, len(stored))}
	for i, s := range stored {
		out.Entry[i].Response = response{Status: "201 Created",
			Location:     fmt.Sprintf("%s/%s/_history/%d", s.Type, s.ID, s.Version),
			ETag:         s.ETag(),
			LastModified: s.LastUpdated.UTC().Format(time.RFC3339Nano)}
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // strings only
	}
	return b
}
