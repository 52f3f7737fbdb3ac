package interaction

import (
	"os"
	"path/filepath"
	"testing"

	"hpsandbox/fhirstore/fhirjson"
)

// BenchmarkShell reads the shell of a VKP alarm's transaction by scanning
// bytes (readShell) and, for reference, with encoding/json (decodeShell).
//
//	go test -run '^$' -bench Shell -benchmem ./fhirstore/interaction
func BenchmarkShell(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "connectors", "vkp", "testdata", "alarm.json"))
	if err != nil {
		b.Fatal(err)
	}
	shell, _, err := fhirjson.SplitBundle(raw)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, isBundle, ok := readShell(shell); !ok || !isBundle {
				b.Fatal("not read")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeShell(shell); err != nil {
				b.Fatal(err)
			}
		}
	})
}
