package fhirstore

import (
	"regexp"
	"testing"
	"time"
)

func TestNewID_IsAValidFHIRIDThatSortsByTime(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	t0 := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	earlier, later := newIDAt(t0), newIDAt(t0.Add(time.Millisecond))
	for _, id := range []string{earlier, later, NewID()} {
		if !hex32.MatchString(id) {
			t.Errorf("id %q is not 32 hex digits", id)
		}
	}
	if earlier >= later {
		t.Errorf("id of a later millisecond %s does not sort after %s", later, earlier)
	}
	if earlier[:12] != "019b7e265500" {
		t.Errorf("id %s does not start with its time in milliseconds", earlier)
	}
}

func TestNewID_SameMillisecondIDsDiffer(t *testing.T) {
	t0 := time.Now()
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		id := newIDAt(t0)
		if seen[id] {
			t.Fatalf("id %s made twice", id)
		}
		seen[id] = true
	}
}
