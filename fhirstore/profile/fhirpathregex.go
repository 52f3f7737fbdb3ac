package profile

import (
	"sync"

	"github.com/gofhir/fhirpath/eval"
	"github.com/gofhir/fhirpath/funcs"
	"github.com/gofhir/fhirpath/types"
)

// The FHIRPath library (github.com/gofhir/fhirpath v1.4.0) keeps compiled
// regular expressions in one process-wide cache whose hit path writes an
// entry's last-use time while holding only the read lock: two invariants
// calling matches() or replaceMatches() at once race (the race detector
// caught it validating the R4 examples in parallel). Until the library
// fixes it, the two functions are replaced at start-up by the library's
// own, run one at a time. They are short (the library bounds patterns and
// times out long inputs), and invariants that use them are few.
var regexFuncs sync.Mutex

func init() {
	for _, name := range []string{"matches", "replaceMatches"} {
		def, ok := funcs.Get(name)
		if !ok {
			continue
		}
		fn := def.Fn
		def.Fn = func(ctx *eval.Context, input types.Collection, args []interface{}) (types.Collection, error) {
			regexFuncs.Lock()
			defer regexFuncs.Unlock()
			return fn(ctx, input, args)
		}
		funcs.Register(def)
	}
}
