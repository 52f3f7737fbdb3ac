package jsonpatch

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestApply_RFC6902Examples(t *testing.T) {
	tests := []struct{ name, doc, patch, want string }{
		{"A.1 add object member", `{"foo":"bar"}`, `[{"op":"add","path":"/baz","value":"qux"}]`, `{"baz":"qux","foo":"bar"}`},
		{"A.2 add array element", `{"foo":["bar","baz"]}`, `[{"op":"add","path":"/foo/1","value":"qux"}]`, `{"foo":["bar","qux","baz"]}`},
		{"A.3 remove object member", `{"baz":"qux","foo":"bar"}`, `[{"op":"remove","path":"/baz"}]`, `{"foo":"bar"}`},
		{"A.4 remove array element", `{"foo":["bar","qux","baz"]}`, `[{"op":"remove","path":"/foo/1"}]`, `{"foo":["bar","baz"]}`},
		{"A.5 replace", `{"baz":"qux","foo":"bar"}`, `[{"op":"replace","path":"/baz","value":"boo"}]`, `{"baz":"boo","foo":"bar"}`},
		{"A.6 move value", `{"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}}`, `[{"op":"move","from":"/foo/waldo","path":"/qux/thud"}]`, `{"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}}`},
		{"A.7 move array element", `{"foo":["all","grass","cows","eat"]}`, `[{"op":"move","from":"/foo/1","path":"/foo/3"}]`, `{"foo":["all","cows","eat","grass"]}`},
		{"A.8 test success", `{"baz":"qux","foo":["a",2,"c"]}`, `[{"op":"test","path":"/baz","value":"qux"},{"op":"test","path":"/foo/1","value":2}]`, `{"baz":"qux","foo":["a",2,"c"]}`},
		{"A.10 add nested member", `{"foo":"bar"}`, `[{"op":"add","path":"/child","value":{"grandchild":{}}}]`, `{"child":{"grandchild":{}},"foo":"bar"}`},
		{"A.14 escape ordering", `{"/":9,"~1":10}`, `[{"op":"test","path":"/~01","value":10}]`, `{"/":9,"~1":10}`},
		{"A.16 add array value", `{"foo":["bar"]}`, `[{"op":"add","path":"/foo/-","value":["abc","def"]}]`, `{"foo":["bar",["abc","def"]]}`},
		{"copy", `{"a":{"b":1}}`, `[{"op":"copy","from":"/a","path":"/c"},{"op":"replace","path":"/c/b","value":2}]`, `{"a":{"b":1},"c":{"b":2}}`},
		{"decimals keep their digits", `{"value":72.0,"n":1e2}`, `[{"op":"add","path":"/unit","value":"/min"}]`, `{"n":1e2,"unit":"/min","value":72.0}`},
		{"test compares numbers by value", `{"v":1.0}`, `[{"op":"test","path":"/v","value":1}]`, `{"v":1.0}`},
		{"replace whole document", `{"a":1}`, `[{"op":"replace","path":"","value":{"b":2}}]`, `{"b":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Apply([]byte(tt.doc), []byte(tt.patch))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestApply_RefusesBadPatchesAndUnapplicableOnes(t *testing.T) {
	tests := []struct {
		name, doc, patch string
		want             error
	}{
		{"not an array", `{}`, `{"op":"add"}`, ErrInvalid},
		{"unknown op", `{}`, `[{"op":"merge","path":"/a","value":1}]`, ErrInvalid},
		{"no path", `{}`, `[{"op":"add","value":1}]`, ErrInvalid},
		{"no value", `{}`, `[{"op":"add","path":"/a"}]`, ErrInvalid},
		{"relative path", `{}`, `[{"op":"add","path":"a","value":1}]`, ErrInvalid},
		{"bad escape", `{}`, `[{"op":"add","path":"/a~2","value":1}]`, ErrInvalid},
		{"A.9 test failure", `{"baz":"qux"}`, `[{"op":"test","path":"/baz","value":"bar"}]`, ErrNotApplicable},
		{"A.12 add to nonexistent target", `{"foo":"bar"}`, `[{"op":"add","path":"/baz/bat","value":"qux"}]`, ErrNotApplicable},
		{"remove missing", `{"a":1}`, `[{"op":"remove","path":"/b"}]`, ErrNotApplicable},
		{"replace missing", `{"a":1}`, `[{"op":"replace","path":"/b","value":2}]`, ErrNotApplicable},
		{"index out of range", `{"a":[1]}`, `[{"op":"add","path":"/a/5","value":2}]`, ErrNotApplicable},
		{"leading zero index", `{"a":[1,2]}`, `[{"op":"remove","path":"/a/01"}]`, ErrNotApplicable},
		{"move into itself", `{"a":{"b":1}}`, `[{"op":"move","from":"/a","path":"/a/b/c"}]`, ErrNotApplicable},
		{"remove root", `{"a":1}`, `[{"op":"remove","path":""}]`, ErrNotApplicable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply([]byte(tt.doc), []byte(tt.patch))
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestApply_FailedOperationLeavesInputUntouched(t *testing.T) {
	doc := []byte(`{"a":[1,2,3]}`)
	if _, err := Apply(doc, []byte(`[{"op":"remove","path":"/a/0"},{"op":"test","path":"/a/0","value":9}]`)); err == nil {
		t.Fatal("test should fail")
	}
	if string(doc) != `{"a":[1,2,3]}` {
		t.Errorf("input changed: %s", doc)
	}
}

func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":2}]}`), []byte(`[{"op":"add","path":"/a/-","value":3},{"op":"move","from":"/a/1","path":"/c"}]`))
	f.Add([]byte(`{"resourceType":"Patient","active":true}`), []byte(`[{"op":"replace","path":"/active","value":false},{"op":"copy","from":"/active","path":"/x"}]`))
	f.Fuzz(func(t *testing.T, doc, patch []byte) {
		out, err := Apply(doc, patch)
		if err == nil && !json.Valid(out) {
			t.Fatalf("Apply produced invalid JSON %q", out)
		}
	})
}
