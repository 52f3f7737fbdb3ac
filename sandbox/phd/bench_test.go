package phd

import (
	"os"
	"testing"
)

func BenchmarkJudge(b *testing.B) {
	body, err := os.ReadFile("testdata/upload.json")
	if err != nil {
		b.Fatal(err)
	}
	defs, err := Definitions()
	if err != nil {
		b.Fatal(err)
	}
	Judge(defs, body)
	b.ResetTimer()
	for range b.N {
		Judge(defs, body)
	}
}
