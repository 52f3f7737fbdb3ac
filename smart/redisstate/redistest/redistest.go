// Package redistest gives tests a real Redis server of their own: a Docker
// container (redis:7) where a Docker engine answers, else the locally
// installed redis-server run as a child process on a free loopback port
// with its files in a temporary directory. Either way it listens on
// loopback only, is stopped when the test ends, and no server the test did
// not start is ever touched.
//
// Without Docker or redis-server the test skips, saying why; in CI (the CI
// environment variable set) it fails instead, since .ci/run installs
// redis-server. It is for tests only.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
	"github.com/redis/go-redis/v9"
)

// errUnavailable: no Docker engine answers.
var errUnavailable = errors.New("no Docker engine")

// Start runs a Redis server for t and returns its URL
// (redis://127.0.0.1:port/0).
func Start(t testing.TB) string {
	t.Helper()
	url, stop, err := startDocker()
	if errors.Is(err, errUnavailable) {
		url, stop, err = startLocal(t.TempDir())
	}
	if errors.Is(err, exec.ErrNotFound) {
		msg := "redistest: neither a Docker engine nor redis-server (apt-get install -y redis-server) to test against"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Logf("redistest: stopping Redis: %v", err)
		}
	})
	return url
}

// startDocker runs redis:7 with its port published on loopback only.
// NewPool succeeds without an engine, so a ping (which fails at once)
// decides whether there is one.
func startDocker() (string, func() error, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	if err := pool.Client.Ping(); err != nil {
		return "", nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository: "redis",
		Tag:        "7",
		Cmd:        []string{"redis-server", "--save", "", "--appendonly", "no"},
		PortBindings: map[docker.Port][]docker.PortBinding{
			"6379/tcp": {{HostIP: "127.0.0.1", HostPort: ""}},
		},
	}, func(hc *docker.HostConfig) {
		hc.AutoRemove = true
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
	})
	if err != nil {
		return "", nil, err
	}
	// A container outlives a test binary that was killed; this bounds it.
	_ = res.Expire(600)
	stop := func() error { return pool.Purge(res) }
	url := "redis://127.0.0.1:" + res.GetPort("6379/tcp") + "/0"
	if err := waitReady(url, nil); err != nil {
		_ = stop()
		return "", nil, err
	}
	return url, stop, nil
}

// startLocal runs the installed redis-server on a free loopback port with
// dir as its working directory; it dies with the test binary.
func startLocal(dir string) (string, func() error, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() error {
		_ = cmd.Process.Kill()
		<-done
		return nil
	}
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	if err := waitReady(url, done); err != nil {
		_ = stop()
		return "", nil, err
	}
	return url, stop, nil
}

// waitReady pings url until it answers, for up to 30 s, or until exited
// is closed (the server died).
func waitReady(url string, exited <-chan struct{}) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	client := redis.NewClient(opts)
	defer client.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited before answering: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("Redis at %s does not answer: %w", opts.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
