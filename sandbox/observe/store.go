package observe

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"hpsandbox/fhirstore"
	"hpsandbox/fhirstore/fhirjson"
)

// Store is a fhirstore.Store whose calls are timed into Metrics and run
// in child spans of the request's. It offers only the methods of
// fhirstore.Store: wrap the store handed to the FHIR API and connectors,
// not the one parts ask for further capabilities (fhirstore.Eraser,
// fhirstore.CommitReporter).
type Store struct {
	fhirstore.Store
	m  *Metrics
	tr trace.Tracer
	// ops are the series of the operations, each looked up on its first
	// use (so that an operation never made shows no series).
	ops map[string]*opSeries
}

// opSeries is the series of one store operation, looked up once.
type opSeries struct {
	once sync.Once
	o    prometheus.Observer
}

var _ fhirstore.Store = (*Store)(nil)

// NewStore wraps s; m and tp may be nil.
func NewStore(s fhirstore.Store, m *Metrics, tp trace.TracerProvider) *Store {
	st := &Store{Store: s, m: m, tr: tracer(tp)}
	if m != nil {
		st.ops = map[string]*opSeries{}
		for op := range storeSpans {
			st.ops[op] = &opSeries{}
		}
	}
	return st
}

// storeSpans are the names of the store operations' spans, made once.
var storeSpans = map[string]string{}

func init() {
	for _, op := range []string{"create", "delete", "history", "read", "replace_meta", "search", "tx", "update", "vread"} {
		storeSpans[op] = "store " + op
	}
}

// clientKind is the option of every store span, made once.
var clientKind = trace.WithSpanKind(trace.SpanKindClient)

// call runs fn as store operation op of typ.
func (s *Store) call(ctx context.Context, op, typ string, fn func(context.Context) error) error {
	start := time.Now()
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !sc.IsSampled() {
		// The request's span is not sampled, and neither would this one be
		// (Tracing samples by the parent): it would record nothing and
		// its ids would name nothing exported, so none is made.
		err := fn(ctx)
		s.observe(op, time.Since(start))
		return err
	}
	name, ok := storeSpans[op]
	if !ok {
		name = "store " + op
	}
	ctx, span := s.tr.Start(ctx, name, clientKind)
	if typ != "" && span.IsRecording() {
		span.SetAttributes(attribute.String("fhir.resource_type", typ))
	}
	err := fn(ctx)
	s.observe(op, time.Since(start))
	if err != nil && !expected(err) {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	return err
}

// observe records the time d of operation op.
func (s *Store) observe(op string, d time.Duration) {
	if series := s.ops[op]; series != nil {
		series.once.Do(func() { series.o = s.m.store.WithLabelValues(op) })
		series.o.Observe(d.Seconds())
		return
	}
	s.m.StoreCall(op, d)
}

// expected are the errors that answer a question rather than report a
// failure.
func expected(err error) bool {
	var gone *fhirstore.GoneError
	return errors.Is(err, fhirstore.ErrNotFound) || errors.As(err, &gone)
}

// Read implements fhirstore.Reader.
func (s *Store) Read(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (r *fhirstore.Resource, err error) {
	err = s.call(ctx, "read", typ, func(ctx context.Context) error {
		r, err = s.Store.Read(ctx, sandbox, typ, id)
		return err
	})
	return r, err
}

// VRead implements fhirstore.Reader.
func (s *Store) VRead(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string, version int64) (r *fhirstore.Resource, err error) {
	err = s.call(ctx, "vread", typ, func(ctx context.Context) error {
		r, err = s.Store.VRead(ctx, sandbox, typ, id, version)
		return err
	})
	return r, err
}

// History implements fhirstore.Reader.
func (s *Store) History(ctx context.Context, sandbox fhirstore.Sandbox, q fhirstore.HistoryQuery) (p *fhirstore.HistoryPage, err error) {
	err = s.call(ctx, "history", "", func(ctx context.Context) error {
		p, err = s.Store.History(ctx, sandbox, q)
		return err
	})
	return p, err
}

// Search implements fhirstore.Reader.
func (s *Store) Search(ctx context.Context, sandbox fhirstore.Sandbox, q fhirstore.SearchQuery) (p *fhirstore.SearchPage, err error) {
	err = s.call(ctx, "search", "", func(ctx context.Context) error {
		p, err = s.Store.Search(ctx, sandbox, q)
		return err
	})
	return p, err
}

// Create implements fhirstore.Writer.
func (s *Store) Create(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, id string) (res *fhirstore.Resource, err error) {
	err = s.call(ctx, "create", resourceType(r), func(ctx context.Context) error {
		res, err = s.Store.Create(ctx, sandbox, r, id)
		return err
	})
	return res, err
}

// Update implements fhirstore.Writer.
func (s *Store) Update(ctx context.Context, sandbox fhirstore.Sandbox, r *fhirjson.Resource, opts fhirstore.UpdateOptions) (res *fhirstore.Resource, created bool, err error) {
	err = s.call(ctx, "update", resourceType(r), func(ctx context.Context) error {
		res, created, err = s.Store.Update(ctx, sandbox, r, opts)
		return err
	})
	return res, created, err
}

// Delete implements fhirstore.Writer.
func (s *Store) Delete(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string) (res *fhirstore.Resource, err error) {
	err = s.call(ctx, "delete", typ, func(ctx context.Context) error {
		res, err = s.Store.Delete(ctx, sandbox, typ, id)
		return err
	})
	return res, err
}

// ReplaceMeta implements fhirstore.Writer.
func (s *Store) ReplaceMeta(ctx context.Context, sandbox fhirstore.Sandbox, typ, id string, version int64, body []byte) error {
	return s.call(ctx, "replace_meta", typ, func(ctx context.Context) error {
		return s.Store.ReplaceMeta(ctx, sandbox, typ, id, version, body)
	})
}

// Tx implements fhirstore.Store; the transaction is one operation, its
// reads and writes inside are not timed apart.
func (s *Store) Tx(ctx context.Context, fn func(fhirstore.Tx) error) error {
	return s.call(ctx, "tx", "", func(ctx context.Context) error { return s.Store.Tx(ctx, fn) })
}

func resourceType(r *fhirjson.Resource) string {
	if r == nil {
		return ""
	}
	return r.Type
}
