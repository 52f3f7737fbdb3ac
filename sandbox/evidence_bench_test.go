package sandbox

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// BenchmarkToken_EvidenceOverhead measures what keeping the authorization
// server's evidence costs the token endpoint through the whole gateway
// (target: at most 5 %): the facts gathered, put in the request's Note,
// and the entry queued and written by the request log. Two gateways, one
// with the request log and one without, answer backend services' token
// requests (ES384 client assertions, signed before the clock starts) in
// alternating rounds, straight into the engine without a network, so that
// both see the same machine. "ratio" is the logging gateway's throughput
// over the other's.
func BenchmarkToken_EvidenceOverhead(b *testing.B) {
	envs := map[bool]*gatewayEnv{
		true:  newGatewayEnv(b, true),
		false: newGatewayEnvWith(b, func(c *Config, _ *parts) { c.Secure, c.RequestLogMax = true, 0 }),
	}
	if envs[false].gw.recorder != nil || envs[true].gw.recorder == nil {
		b.Fatal("the gateways do not differ in their request log")
	}
	const rounds = 6
	n := max(b.N/rounds, 100)
	took := map[bool]time.Duration{}
	b.ResetTimer()
	for r := range rounds {
		for _, logged := range []bool{r%2 == 0, r%2 != 0} {
			env := envs[logged]
			b.StopTimer()
			bodies := make([]string, n)
			for i := range bodies {
				bodies[i] = url.Values{
					"grant_type": {"client_credentials"}, "scope": {"system/*.rs"},
					"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
					"client_assertion":      {env.assertion(b, DemoBackendClientID)},
				}.Encode()
			}
			b.StartTimer()
			start := time.Now()
			for _, body := range bodies {
				req := httptest.NewRequest(http.MethodPost, env.srv.URL+"/auth/token", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				env.gw.engine.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("token: %d %s", rec.Code, rec.Body)
				}
			}
			took[logged] += time.Since(start)
		}
	}
	b.ReportMetric(float64(took[true])/float64(rounds*n), "logged-ns/token")
	b.ReportMetric(float64(took[false])/float64(rounds*n), "unlogged-ns/token")
	b.ReportMetric(float64(took[false])/float64(took[true]), "ratio")
}
