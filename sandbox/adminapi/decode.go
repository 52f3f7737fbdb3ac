package adminapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
)

// decodeBody reads the request body, at most Deps.MaxBodyBytes of one
// JSON value, into v. Fields v does not have are an error: a misspelt
// setting silently ignored would leave a supplier testing against
// something else than it meant.
func (a *API) decodeBody(c *gin.Context, v any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return problem(kindMediaType, fmt.Sprintf("Content-Type %q: send application/json.", ct))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, a.d.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return problem(kindTooLarge, fmt.Sprintf("The body is larger than the %d bytes this API reads.", a.d.MaxBodyBytes))
		}
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return problem(kindBadRequest, "The body is empty; send a JSON object.")
	}
	return decodeStrict(body, v, "")
}

// decodeStrict decodes exactly one JSON value of data into v, refusing
// unknown fields. prefix is the field path of data within the request
// body (settings), for the names in errors.
func decodeStrict(data []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err, prefix)
	}
	if _, err := dec.Token(); err != io.EOF {
		return problem(kindBadRequest, "The body holds more than one JSON value; send one object.")
	}
	return nil
}

// jsonProblem describes why a body did not decode.
func jsonProblem(err error, prefix string) error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field := strings.TrimPrefix(prefix+"."+te.Field, ".")
		field = strings.TrimSuffix(field, ".")
		msg := fmt.Sprintf("want a JSON %s, not %s", jsonKind(te.Type), te.Value)
		if field == "" {
			return problem(kindBadRequest, "The body is a JSON "+te.Value+"; send an object.")
		}
		return problem(kindBadRequest, field+": "+msg, FieldError{Field: field, Message: msg})
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return problem(kindBadRequest, fmt.Sprintf("The body is not valid JSON at byte %d: %v.", se.Offset, se))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return problem(kindBadRequest, "The body ends before its JSON value does.")
	}
	// Unknown fields have no error type of their own; encoding/json's
	// message names the field.
	detail := err.Error()
	if prefix != "" {
		detail = prefix + ": " + detail
	}
	return problem(kindBadRequest, detail)
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "value"
}
