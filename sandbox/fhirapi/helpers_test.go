package fhirapi_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
)

type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add()       { c.n.Add(1) }
func (c *atomicCounter) get() int64 { return c.n.Load() }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
