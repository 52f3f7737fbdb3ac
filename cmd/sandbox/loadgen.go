package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// op is one request of a workload: its kind (for the latency of each kind
// in a mixed load), how many resources it carried, and whether the server
// answered it as expected.
type op struct {
	kind      string
	resources int
	ok        bool
}

// opFunc sends one request; rng is the client's own.
type opFunc func(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, seq int) (op, error)

// row is one line of the bench table.
type row struct {
	name       string
	clients    int
	requests   float64 // per second
	resources  float64 // per second
	p50, p99   time.Duration
	errors     int
	note       string
	hasResRate bool
	// cpu is the sandbox's CPU time per request, 0 when not known.
	cpu time.Duration
}

func (r row) String() string {
	res := "-"
	if r.hasResRate {
		res = fmt.Sprintf("%.0f", r.resources)
	}
	cpu := "-"
	if r.cpu > 0 {
		cpu = r.cpu.Round(time.Microsecond).String()
	}
	return fmt.Sprintf("%-34s %7d %10.0f %12s %9s %9s %7d %10s  %s", r.name, r.clients, r.requests, res,
		r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.errors, cpu, r.note)
}

// drive runs fn from clients goroutines for d and returns, per kind, the
// latencies, and the totals. A client starts no request after d, but the
// requests under way then finish and count: a workload slower than d still
// measures something, and the server sees no request dropped halfway.
func drive(ctx context.Context, c *http.Client, env *benchEnv, clients int, d time.Duration, fn opFunc) (map[string][]time.Duration, int, int, time.Duration, error) {
	type result struct {
		lat       map[string][]time.Duration
		resources int
		errors    int
		err       error
	}
	results := make([]result, clients)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			r := &results[w]
			r.lat = map[string][]time.Duration{}
			for seq := 0; ctx.Err() == nil && time.Now().Before(deadline); seq++ {
				t0 := time.Now()
				o, err := fn(ctx, c, env, rng, w*1_000_000+seq)
				if err != nil {
					r.err = err
					return
				}
				if ctx.Err() != nil {
					return // interrupted: not counted
				}
				r.lat[o.kind] = append(r.lat[o.kind], time.Since(t0))
				if o.ok {
					r.resources += o.resources
				} else {
					r.errors++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	lat := map[string][]time.Duration{}
	resources, errs := 0, 0
	for _, r := range results {
		if r.err != nil {
			return nil, 0, 0, 0, r.err
		}
		for k, v := range r.lat {
			lat[k] = append(lat[k], v...)
		}
		resources += r.resources
		errs += r.errors
	}
	return lat, resources, errs, elapsed, ctx.Err()
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// send does one request and reads the answer whole; ok is whether the
// status is want.
func send(ctx context.Context, c *http.Client, method, u string, body []byte, want int) (bool, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return false, nil
		}
		return false, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == want, nil
}

// workload is one line (or, for mixed, lines) of the table.
type workload struct {
	name string
	run  func(ctx context.Context, c *http.Client, env *benchEnv, d time.Duration) ([]row, error)
}

// simple is a workload of one kind of request from clients clients.
func simple(name string, clients, perOp int, fn opFunc) workload {
	return workload{name: name, run: func(ctx context.Context, c *http.Client, env *benchEnv, d time.Duration) ([]row, error) {
		meter := startCPU(env.serverPID)
		lat, res, errs, elapsed, err := drive(ctx, c, env, clients, d, fn)
		if err != nil {
			return nil, err
		}
		cpu, known := meter.used()
		var all []time.Duration
		for _, v := range lat {
			all = append(all, v...)
		}
		slices.Sort(all)
		return []row{{name: name, clients: clients, requests: float64(len(all)) / elapsed.Seconds(),
			resources: float64(res) / elapsed.Seconds(), hasResRate: perOp > 1,
			p50: percentile(all, 0.5), p99: percentile(all, 0.99), errors: errs, cpu: perRequest(cpu, known, len(all))}}, nil
	}}
}

func createOp(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, seq int) (op, error) {
	p := env.patients[rng.IntN(len(env.patients))]
	ok, err := send(ctx, c, http.MethodPost, env.base+"/Observation", observation(p, seq), http.StatusCreated)
	return op{kind: "create", resources: 1, ok: ok}, err
}

func transactionOp(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, seq int) (op, error) {
	p := env.patients[rng.IntN(len(env.patients))]
	ok, err := send(ctx, c, http.MethodPost, env.base, transaction(p, 50, seq), http.StatusOK)
	return op{kind: "transaction", resources: 50, ok: ok}, err
}

func readOp(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, _ int) (op, error) {
	p := env.patients[rng.IntN(len(env.patients))]
	ok, err := send(ctx, c, http.MethodGet, env.base+"/Patient/"+p, nil, http.StatusOK)
	return op{kind: "read", resources: 1, ok: ok}, err
}

func searchOp(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, _ int) (op, error) {
	p := env.patients[rng.IntN(len(env.patients))]
	ok, err := send(ctx, c, http.MethodGet, env.base+"/Observation?subject=Patient/"+p+"&_count=10", nil, http.StatusOK)
	return op{kind: "search", resources: 1, ok: ok}, err
}

func chainOp(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, _ int) (op, error) {
	f := env.families[rng.IntN(len(env.families))]
	ok, err := send(ctx, c, http.MethodGet, env.base+"/Observation?subject:Patient.family="+url.QueryEscape(f)+"&_count=10", nil, http.StatusOK)
	return op{kind: "chain", resources: 1, ok: ok}, err
}

func dateOp(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, _ int) (op, error) {
	day := 1 + rng.IntN(27)
	u := fmt.Sprintf("%s/Observation?date=ge2026-11-%02d&date=lt2026-11-%02d&_count=10", env.base, day, day+1)
	ok, err := send(ctx, c, http.MethodGet, u, nil, http.StatusOK)
	return op{kind: "date", resources: 1, ok: ok}, err
}

// mixedOp is 50 % read, 35 % search, 15 % create.
func mixedOp(ctx context.Context, c *http.Client, env *benchEnv, rng *rand.Rand, seq int) (op, error) {
	switch x := rng.IntN(100); {
	case x < 50:
		return readOp(ctx, c, env, rng, seq)
	case x < 85:
		return searchOp(ctx, c, env, rng, seq)
	default:
		return createOp(ctx, c, env, rng, seq)
	}
}

func mixed(clients int) workload {
	name := "mixed 50/35/15 read/search/create"
	return workload{name: name, run: func(ctx context.Context, c *http.Client, env *benchEnv, d time.Duration) ([]row, error) {
		meter := startCPU(env.serverPID)
		lat, _, errs, elapsed, err := drive(ctx, c, env, clients, d, mixedOp)
		if err != nil {
			return nil, err
		}
		cpu, known := meter.used()
		var all []time.Duration
		for _, v := range lat {
			all = append(all, v...)
		}
		slices.Sort(all)
		rows := []row{{name: name, clients: clients, requests: float64(len(all)) / elapsed.Seconds(),
			p50: percentile(all, 0.5), p99: percentile(all, 0.99), errors: errs, cpu: perRequest(cpu, known, len(all))}}
		for _, k := range []string{"read", "search", "create"} {
			v := lat[k]
			slices.Sort(v)
			rows = append(rows, row{name: "  of which " + k, clients: clients, requests: float64(len(v)) / elapsed.Seconds(),
				p50: percentile(v, 0.5), p99: percentile(v, 0.99)})
		}
		return rows, nil
	}}
}

// readRatio measures read by id against a bare net/http handler that
// serves the same bytes with the same headers, in the same run: the cost
// of the gateway over the network stack. The bare handler runs where the
// gateway does (a child process when bench started the sandbox in one,
// else this process), so that neither shares a runtime with the load
// generator the other does not; and the two are driven in alternating
// rounds, gateway, bare, bare, gateway, so that a machine getting busier
// or quieter during the run weighs on both alike.
func readRatio(clients int) workload {
	name := "read by id vs bare handler"
	return workload{name: name, run: func(ctx context.Context, c *http.Client, env *benchEnv, d time.Duration) ([]row, error) {
		bareBase, barePID, stop, err := startBare(ctx, env)
		if err != nil {
			return nil, err
		}
		defer stop()
		bareEnv := *env
		bareEnv.base = bareBase
		bareEnv.serverPID = barePID
		type total struct {
			lat      []time.Duration
			errors   int
			elapsed  time.Duration
			cpu      time.Duration
			cpuKnown bool
		}
		gw, bare := total{cpuKnown: true}, total{cpuKnown: true}
		for _, target := range []*total{&gw, &bare, &bare, &gw} {
			e := env
			if target == &bare {
				e = &bareEnv
			}
			meter := startCPU(e.serverPID)
			lat, _, errs, elapsed, err := drive(ctx, c, e, clients, d/2, readOp)
			if err != nil {
				return nil, err
			}
			cpu, known := meter.used()
			target.lat = append(target.lat, lat["read"]...)
			target.errors += errs
			target.elapsed += elapsed
			target.cpu += cpu
			target.cpuKnown = target.cpuKnown && known
		}
		rowOf := func(name string, t total) row {
			slices.Sort(t.lat)
			return row{name: name, clients: clients, requests: float64(len(t.lat)) / t.elapsed.Seconds(),
				p50: percentile(t.lat, 0.5), p99: percentile(t.lat, 0.99), errors: t.errors,
				cpu: perRequest(t.cpu, t.cpuKnown, len(t.lat))}
		}
		g, b := rowOf(name, gw), rowOf("  bare net/http handler", bare)
		g.note = fmt.Sprintf("ratio %.2f", g.requests/b.requests)
		return []row{g, b}, nil
	}}
}

// bareHandler serves body with header to every request.
func bareHandler(header http.Header, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		_, _ = w.Write(body)
	})
}

// startBare starts the bare handler of env's stored Patient and returns
// its FHIR base and the id of the process serving it (0 when that is this
// process, as the load generator's): in a child process (serveBare) when
// the sandbox runs in one, else in this process.
func startBare(ctx context.Context, env *benchEnv) (string, int, func(), error) {
	if env.sandboxExe == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", 0, nil, err
		}
		srv := &http.Server{Handler: bareHandler(env.readHeader, env.readBody)}
		go func() { _ = srv.Serve(l) }()
		return "http://" + l.Addr().String() + "/fhir", 0, func() { _ = srv.Close() }, nil
	}
	f, err := os.CreateTemp("", "sandbox-bench-bare-*.json")
	if err != nil {
		return "", 0, nil, err
	}
	defer os.Remove(f.Name()) // the child has read it once it answers
	err = json.NewEncoder(f).Encode(bareAnswer{Header: env.readHeader, Body: env.readBody})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, nil, err
	}
	cmd := exec.CommandContext(ctx, env.sandboxExe, "bench", "--serve-bare", f.Name())
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, nil, err
	}
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return "", 0, nil, fmt.Errorf("the bare handler did not start: %w", err)
	}
	return "http://" + strings.TrimSpace(addr) + "/fhir", cmd.Process.Pid, stop, nil
}

// bareAnswer is what startBare hands the child that serves it.
type bareAnswer struct {
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

// serveBare serves the bareAnswer in file on a free loopback port, whose
// address it writes to stdout as a line, until ctx ends.
func serveBare(ctx context.Context, file string, stdout io.Writer) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var a bareAnswer
	if err := json.Unmarshal(b, &a); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: bareHandler(a.Header, a.Body)}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	fmt.Fprintln(stdout, l.Addr().String())
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

var workloads = []workload{
	simple("create, 16 clients", 16, 1, createOp),
	simple("transaction of 50, 16 clients", 16, 50, transactionOp),
	readRatio(16),
	mixed(64),
	simple("chain search subject:Patient.family", 16, 1, chainOp),
	simple("date range search", 16, 1, dateOp),
}

func workloadNames() []string {
	var out []string
	for _, w := range workloads {
		out = append(out, strings.SplitN(w.name, ",", 2)[0])
	}
	return out
}

// selectWorkloads picks workloads by the start of their names.
func selectWorkloads(list string) ([]workload, error) {
	if list == "" {
		return workloads, nil
	}
	var out []workload
	for _, want := range strings.Split(list, ",") {
		want = strings.TrimSpace(want)
		found := false
		for _, w := range workloads {
			if strings.HasPrefix(w.name, want) {
				out = append(out, w)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no workload %q; the workloads are %s", want, strings.Join(workloadNames(), ", "))
		}
	}
	return out, nil
}
