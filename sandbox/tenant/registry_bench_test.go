package tenant_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"hpsandbox/internal/testpg"
	"hpsandbox/sandbox/tenant"
)

// BenchmarkRegistry measures the registry's commonest writes and reads on
// each engine: registering an app (a create) and finding it by client id
// (what every token request does before the credential cache), serially
// and from 8 goroutines at once.
func BenchmarkRegistry(b *testing.B) {
	engines := []struct {
		name string
		open func(b *testing.B) tenant.Registry
	}{
		{"SQLite", func(b *testing.B) tenant.Registry {
			r, err := tenant.OpenSQLiteRegistry(context.Background(), filepath.Join(b.TempDir(), tenant.FileName))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close() })
			return r
		}},
		{"Postgres", func(b *testing.B) tenant.Registry {
			r, err := tenant.OpenPostgresRegistry(context.Background(), testpg.Start(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { r.Close() })
			return r
		}},
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			r := e.open(b)
			ctx := context.Background()
			if err := r.CreateSandbox(ctx, &tenant.Sandbox{ID: "bench", Name: "bench"}); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			create := func() string {
				id := fmt.Sprint("app-", n.Add(1))
				a := &tenant.App{ClientID: id, Sandbox: "bench", Name: id, Type: "confidential-symmetric",
					RedirectURIs: []string{"https://app.example/cb"}, Created: time.Now(), SecretHash: []byte("hash")}
				if err := r.CreateApp(ctx, a); err != nil {
					b.Fatal(err)
				}
				return id
			}
			b.Run("CreateApp", func(b *testing.B) {
				for b.Loop() {
					create()
				}
			})
			b.Run("CreateApp_Parallel8", func(b *testing.B) {
				b.SetParallelism(4) // GOMAXPROCS 2: 8 goroutines
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						create()
					}
				})
			})
			b.Run("App", func(b *testing.B) {
				for b.Loop() {
					if _, err := r.App(ctx, "app-1"); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("App_Parallel8", func(b *testing.B) {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := r.App(ctx, "app-1"); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}
