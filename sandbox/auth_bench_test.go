package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"hpsandbox/smart/redisstate"
	"hpsandbox/smart/redisstate/redistest"
)

// BenchmarkRead_SecuredVsOpen measures what access control adds to a read
// by id: the same Observation read through the gateway's handler (no
// network) without a token on an open sandbox, and with a token at user
// level (verification and scope check) and at patient level (plus the
// compartment check of the answer). Reads alternate so that drift hits all
// alike; "added-µs" is the mean difference to the open read.
//
// With Redis token state ("redis" runs, against a redis-server the
// benchmark starts) every check of a token also asks Redis whether it
// was revoked.
func BenchmarkRead_SecuredVsOpen(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchSecuredRead(b, newGatewayEnv(b, false)) })
	b.Run("redis", func(b *testing.B) {
		url := redistest.Start(b)
		st, closeFn, err := redisstate.Open(context.Background(), url, "bench:")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { closeFn() })
		benchSecuredRead(b, newGatewayEnvWith(b, func(_ *Config, p *parts) { p.state = st }))
	})
}

func benchSecuredRead(b *testing.B, env *gatewayEnv) {
	benchSecured(b, env, "/fhir/Observation/obs-a")
}

// BenchmarkSearch_SecuredVsOpen is BenchmarkRead_SecuredVsOpen for a
// search with a chain: at patient level the guard parses it, checks the
// types it reads and has the store confine it (search.Confinement).
func BenchmarkSearch_SecuredVsOpen(b *testing.B) {
	benchSecured(b, newGatewayEnv(b, false), "/fhir/Observation?subject:Patient.family=nordmann&_include=Observation:subject")
}

func benchSecured(b *testing.B, env *gatewayEnv, path string) {
	h := env.srv.Config.Handler
	patient, _ := env.standaloneLaunch(b, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	user, _ := env.standaloneLaunch(b, "Practitioner/prac-1", "", "user/*.rs")
	read := func(token string) time.Duration {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(rec, req)
		d := time.Since(start)
		if rec.Code != http.StatusOK {
			b.Fatalf("read: %d %s", rec.Code, rec.Body)
		}
		return d
	}
	for range 200 { // warm caches and prepared statements
		read("")
		read(user.AccessToken)
		read(patient.AccessToken)
	}
	var open, u, p time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		open += read("")
		u += read(user.AccessToken)
		p += read(patient.AccessToken)
	}
	n := float64(b.N)
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
	b.ReportMetric(us(open), "open-µs")
	b.ReportMetric(us(u-open), "added-user-µs")
	b.ReportMetric(us(p-open), "added-patient-µs")
}

// BenchmarkRead_PerToken is BenchmarkSearch_PerToken for a read by id:
// open, user-level, and patient-level, whose visibility the store decides
// (a confined count of the id).
func BenchmarkRead_PerToken(b *testing.B) {
	benchPerToken(b, "/fhir/Observation/obs-a")
}

// BenchmarkSearch_PerToken measures one kind of request per run, so that
// -benchmem reports the time, bytes and allocations of one request: a
// search of the patient's vital signs with a chain and an include, open,
// with a user-level token and with a patient-level token (which the guard
// has the store confine, without holding the answer back).
func BenchmarkSearch_PerToken(b *testing.B) {
	benchPerToken(b, "/fhir/Observation?subject:Patient.family=nordmann&_include=Observation:subject")
}

func benchPerToken(b *testing.B, path string) {
	env := newGatewayEnv(b, false)
	h := env.srv.Config.Handler
	patient, _ := env.standaloneLaunch(b, "Practitioner/prac-1", "pat-a", "launch/patient", "patient/*.rs")
	user, _ := env.standaloneLaunch(b, "Practitioner/prac-1", "", "user/*.rs")
	for _, tc := range []struct{ name, token string }{{"open", ""}, {"user", user.AccessToken}, {"patient", patient.AccessToken}} {
		b.Run(tc.name, func(b *testing.B) {
			search := func() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				if tc.token != "" {
					req.Header.Set("Authorization", "Bearer "+tc.token)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("search: %d %s", rec.Code, rec.Body)
				}
			}
			for range 100 { // warm caches and prepared statements
				search()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				search()
			}
		})
	}
}
