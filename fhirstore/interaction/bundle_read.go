package interaction

import (
	"bytes"

	"hpsandbox/fhirstore/fhirjson"
)

// requestIn is an entry's request.
type requestIn struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	IfMatch     string `json:"ifMatch"`
	IfNoneExist string `json:"ifNoneExist"`
}

// The members of bundleIn, entryIn and requestIn, which encoding/json
// matches in any case.
var (
	shellNames   = []string{"type", "entry"}
	entryNames   = []string{"fullUrl", "resource", "request"}
	requestNames = []string{"method", "url", "ifMatch", "ifNoneExist"}
)

// readShell reads shell, a Bundle without its resources as
// fhirjson.SplitBundle returns it (compacted), as encoding/json decodes it
// into bundleIn, and reports whether its resourceType is "Bundle", by
// scanning bytes: the shell of every transaction is read, and decoding it
// twice with encoding/json cost more than the scan. ok is false when the
// answer would take a decoder (escapes in a name, a name encoding/json
// would match in another case, a value that is not a plain string where a
// string is read, null, a member repeated) and for anything encoding/json
// would refuse; the caller decodes such a shell itself.
func readShell(shell []byte) (b *bundleIn, isBundle, ok bool) {
	b = &bundleIn{}
	entries := false
	ok = fhirjson.EachMember(shell, func(name, val []byte) bool {
		if bytes.IndexByte(name, '\\') >= 0 {
			return false
		}
		if string(name) == "resourceType" {
			// Read as a map reads it: this name exactly.
			isBundle = string(val) == `"Bundle"`
			return true
		}
		switch i, ok := fhirjson.NameOf(name, shellNames); {
		case !ok:
			return false
		case i == 0:
			b.Type, ok = fhirjson.PlainString(val)
			return ok
		case i == 1 && entries:
			return false
		case i == 1:
			entries = true
			return fhirjson.EachElement(val, func(val []byte) bool {
				e, ok := readEntry(val)
				b.Entry = append(b.Entry, e)
				return ok
			})
		}
		return true
	})
	return b, isBundle, ok
}

// readEntry reads an entry of the shell as readShell reads the shell.
func readEntry(val []byte) (e entryIn, ok bool) {
	ok = fhirjson.EachMember(val, func(name, val []byte) bool {
		switch i, ok := fhirjson.NameOf(name, entryNames); {
		case !ok:
			return false
		case i == 0:
			e.FullURL, ok = fhirjson.PlainString(val)
			return ok
		case i == 1, i == 2 && e.Request != nil:
			return false // a resource is the shell's no more
		case i == 2:
			e.Request = &requestIn{}
			return readRequest(val, e.Request)
		}
		return true
	})
	return e, ok
}

// readRequest reads an entry's request as readShell reads the shell.
func readRequest(val []byte, r *requestIn) bool {
	return fhirjson.EachMember(val, func(name, val []byte) bool {
		i, ok := fhirjson.NameOf(name, requestNames)
		if !ok || i < 0 {
			return ok
		}
		field := [...]*string{&r.Method, &r.URL, &r.IfMatch, &r.IfNoneExist}[i]
		*field, ok = fhirjson.PlainString(val)
		return ok
	})
}
