package interaction

import (
	"encoding/json"
	"runtime"
	"sync"
	"sync/atomic"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/outcome"
)

// prepare validates the entry's resource, after references were rewritten,
// and judges it under the sandbox's enforcement (conf) when it is written.
func (e *entry) prepare(conf *conformance) error {
	if e.body == nil {
		return nil
	}
	parse := fhirjson.Parse
	if e.vouched {
		parse = vouchedResource
	}
	res, err := parse(e.body)
	if err != nil {
		return entryError(e.index, err)
	}
	if res.Type != e.typ {
		return entryError(e.index, outcome.New(outcome.Incorrect, outcome.Invalid,
			"resource type %s does not match %s in request.url", res.Type, e.typ))
	}
	if e.kind == Update {
		if err := checkUpdateID(e.typ, e.id, res); err != nil {
			return entryError(e.index, err)
		}
	}
	if err := conf.check(res.Type, res.Body); err != nil {
		return entryError(e.index, err)
	}
	e.res = res
	return nil
}

// vouchedResource reads a resource whose caller vouches that it is valid
// R4 (BundleRequest.Validated) as fhirjson.Parse returns it, without
// google/fhir: compacted, with its type and id. One that is not even a
// typed JSON object with a valid id is parsed in full after all, so that
// it fails as it would have.
//
// The body, when compact already, is returned as it is: it is the
// entry's own (parseBundle's copy or a rewrite of it), so sharing it
// lends nothing of the caller's.
func vouchedResource(body []byte) (*fhirjson.Resource, error) {
	body = fhirjson.TrimBOM(body)
	compact, ok := fhirjson.Compact(body)
	if !ok {
		return fhirjson.Parse(body)
	}
	typ, id, hasID, ok := fhirjson.VouchedHead(compact)
	if !ok {
		typ, id, hasID, ok = decodeHead(compact)
	}
	if !ok || !fhirjson.IsType(typ) || (hasID && !fhirjson.ValidID(id)) {
		return fhirjson.Parse(body)
	}
	return &fhirjson.Resource{Type: typ, ID: id, Body: compact}, nil
}

// decodeHead reads resourceType and id with encoding/json, for the bodies
// fhirjson.VouchedHead leaves to a decoder; ok is false when the decoder
// refuses body.
func decodeHead(compact []byte) (typ, id string, hasID, ok bool) {
	var head struct {
		ResourceType string  `json:"resourceType"`
		ID           *string `json:"id"`
	}
	if json.Unmarshal(compact, &head) != nil {
		return "", "", false, false
	}
	if head.ID != nil {
		id, hasID = *head.ID, true
	}
	return head.ResourceType, id, hasID, true
}

// validation validates entries' resources on every core, in the order
// given, so that a writer taking them in that order waits least. A failing
// entry keeps its error in errResult.
type validation struct {
	conf  *conformance
	slots map[*entry]*validationSlot
	wg    sync.WaitGroup
}

// validationSlot is one entry's validation: claimed by whichever goroutine
// validates it, done once it is validated.
type validationSlot struct {
	claimed atomic.Bool
	done    chan struct{}
}

// validate starts the validation of entries, judged under conf; wait (or
// valid of each) before reading them.
func validate(entries []*entry, conf *conformance) *validation {
	v := &validation{conf: conf, slots: make(map[*entry]*validationSlot, len(entries))}
	for _, e := range entries {
		v.slots[e] = &validationSlot{done: make(chan struct{})}
	}
	var next atomic.Int64
	workers := min(runtime.GOMAXPROCS(0), len(entries))
	v.wg.Add(workers)
	for range workers {
		go func() {
			defer v.wg.Done()
			for i := next.Add(1) - 1; i < int64(len(entries)); i = next.Add(1) - 1 {
				v.run(entries[i])
			}
		}()
	}
	return v
}

// run validates e unless another goroutine claimed it first.
func (v *validation) run(e *entry) {
	s := v.slots[e]
	if !s.claimed.CompareAndSwap(false, true) {
		return
	}
	defer close(s.done)
	if e.errResult == nil {
		if err := e.prepare(v.conf); err != nil {
			e.errResult = outcome.From(err)
		}
	}
}

// valid waits for the validation of e and reports whether it passed. An
// entry no worker has started on yet the caller validates itself: the
// caller is the store's writer, which every writer waits for, and under
// load a new worker goroutine queues behind every runnable request.
func (v *validation) valid(e *entry) bool {
	v.run(e)
	<-v.slots[e].done
	return e.errResult == nil
}

// wait waits for every entry's validation.
func (v *validation) wait() {
	v.wg.Wait()
	for _, s := range v.slots {
		<-s.done
	}
}
