package interaction

import (
	"testing"
	"time"
)

// The writer asking whether an entry is valid validates it itself when no
// worker has started on it, rather than wait for one to be scheduled; the
// entry is then validated once, and a worker that comes later passes it by.
func TestValidation_ValidOfAnUnstartedEntryValidatesIt(t *testing.T) {
	good := &entry{index: 0, method: "POST", typ: "Patient", body: []byte(`{"resourceType":"Patient","gender":"female"}`)}
	bad := &entry{index: 1, method: "POST", typ: "Patient", body: []byte(`{"resourceType":"Patient","gender":"no-such-code"}`)}
	// A validation none of whose workers ran yet.
	v := &validation{slots: map[*entry]*validationSlot{good: {done: make(chan struct{})}, bad: {done: make(chan struct{})}}}
	answered := make(chan [2]bool, 1)
	go func() { answered <- [2]bool{v.valid(good), v.valid(bad)} }()
	select {
	case got := <-answered:
		if got != [2]bool{true, false} {
			t.Errorf("valid: %v, want [true false]", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("valid waited for a worker that never started")
	}
	if good.res == nil || good.res.Type != "Patient" {
		t.Errorf("the valid entry's resource: %+v", good.res)
	}
	if bad.errResult == nil {
		t.Error("the invalid entry kept no error")
	}
	first := bad.errResult
	v.run(bad) // a worker reaching it afterwards
	if bad.errResult != first {
		t.Error("a later worker validated the entry again")
	}
	v.wait()
}
