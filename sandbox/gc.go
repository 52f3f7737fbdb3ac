package sandbox

import (
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector's target of `sandbox serve`:
// the heap may grow to five times what is live before a collection.
//
// A request allocates far more than it keeps (a parsed resource, its
// validation, its index rows), and the gateway's live heap is small, so
// with Go's default (100) collections come so often that their cost (every
// goroutine's stack scanned, the mark phase's write barriers) is a large
// part of a VKP alarm's CPU time. BenchmarkVKPAlarm_DPoP on a 2-core VM,
// runs of the same binary taken in turn: 2.5–2.8 ms of CPU per alarm at
// 100, 2.1–2.5 ms at 400 (3 to 20 % less, with the VM's drift). The MLLP
// path gained nothing measurable. What it costs:
// the peak resident memory of `sandbox bench`'s server (create,
// transaction and mixed workloads) went from 220 to 330 MB. Higher
// targets did not pay on that VM (fresh pages cost faults). SQLite's page
// caches live outside the Go heap and do not count.
const DefaultGCPercent = 400

// TuneGC sets the garbage collector's target to c.GCPercent for the
// process and returns what undoes it. GOGC in the environment (read
// through getenv) is the operator's own choice for the Go runtime and
// wins: TuneGC then changes nothing. GOMEMLIMIT, when set, still bounds
// the heap, the runtime collecting sooner as it comes near.
func (c Config) TuneGC(getenv func(string) string) (restore func()) {
	if getenv("GOGC") != "" || c.GCPercent == 0 {
		return func() {}
	}
	old := debug.SetGCPercent(c.GCPercent)
	return func() { debug.SetGCPercent(old) }
}
