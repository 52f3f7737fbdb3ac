package fhirjson

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	crpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
)

// Repeated reports whether the element at path (element names below the
// resource type, e.g. "name", "given") repeats, from the R4 definitions
// that google/fhir's protocol buffers carry. known is false when the path
// names no element of the type.
func Repeated(resourceType string, path ...string) (repeated, known bool) {
	setup()
	oneof := (&crpb.ContainedResource{}).ProtoReflect().Descriptor().Oneofs().ByName("oneof_resource")
	var msg protoreflect.MessageDescriptor
	for i := 0; i < oneof.Fields().Len(); i++ {
		if m := oneof.Fields().Get(i).Message(); string(m.Name()) == resourceType {
			msg = m
			break
		}
	}
	if msg == nil || len(path) == 0 {
		return false, false
	}
	for i, name := range path {
		f := fieldByJSONName(msg, name)
		if f == nil {
			return false, false
		}
		if i == len(path)-1 {
			return f.Cardinality() == protoreflect.Repeated, true
		}
		if f.Message() == nil {
			return false, false
		}
		msg = f.Message()
	}
	return false, false
}

func fieldByJSONName(msg protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fields := msg.Fields()
	for i := 0; i < fields.Len(); i++ {
		if f := fields.Get(i); f.JSONName() == name {
			return f
		}
	}
	return nil
}
