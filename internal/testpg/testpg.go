// Package testpg gives tests a real PostgreSQL server: one per test binary,
// started on first use, and a fresh database for every test. The server is
// a Docker container (postgres:15) where a Docker engine answers, else a
// cluster of the locally installed PostgreSQL (initdb into a temporary
// directory), listening on a free loopback port either way. It never
// touches a server it did not start.
//
// A package whose tests call Start runs them through Main, which stops the
// server when the tests are done:
//
//	func TestMain(m *testing.M) { testpg.Main(m) }
//
// Without Docker or PostgreSQL the tests skip, saying why; in CI (the CI
// environment variable set) they fail instead, since .ci/run installs
// PostgreSQL.
//
// It is for tests only; nothing outside _test.go files imports it.
package testpg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// server is one running PostgreSQL.
type server interface {
	// dsn is the URL of database db as the superuser.
	dsn(db string) string
	stop() error
}

var (
	once    sync.Once
	srv     server
	srvErr  error
	skip    string // why there is no server to start, if there is none
	admin   *sql.DB
	dbCount atomic.Int64
	mu      sync.Mutex // guards started
	started bool
)

// Main runs the tests of m and then stops the server, if they started one.
func Main(m *testing.M) {
	code := m.Run()
	if err := Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testpg:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Start returns the URL of a new, empty database on the test binary's
// server, dropped when t ends. It skips t when neither Docker nor
// PostgreSQL is installed (fails in CI).
func Start(t testing.TB) (dsn string) {
	t.Helper()
	return start(t, true)
}

// StartShared is Start for a data set loaded once and read by many tests
// or benchmarks: the database lives until the server stops.
func StartShared(t testing.TB) (dsn string) {
	t.Helper()
	return start(t, false)
}

func start(t testing.TB, drop bool) string {
	t.Helper()
	once.Do(func() {
		mu.Lock()
		started = true
		mu.Unlock()
		srv, skip, srvErr = startServer()
		if srv != nil && srvErr == nil {
			admin, srvErr = open(srv.dsn("postgres"))
		}
	})
	if skip != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("testpg: no PostgreSQL in CI: %s", skip)
		}
		t.Skipf("testpg: no PostgreSQL to test against: %s", skip)
	}
	if srvErr != nil {
		t.Fatalf("testpg: %v", srvErr)
	}
	name := "t" + strconv.Itoa(os.Getpid()) + "_" + strconv.FormatInt(dbCount.Add(1), 10)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	if !drop {
		return srv.dsn(name)
	}
	t.Cleanup(func() {
		// FORCE ends the connections a test left open (a store not closed
		// after a failure).
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("testpg: drop database: %v", err)
		}
	})
	return srv.dsn(name)
}

// Stop stops the server, if one was started; Main calls it. A TestMain of
// its own calls it after closing what it kept open on the server.
func Stop() error {
	mu.Lock()
	defer mu.Unlock()
	if !started || srv == nil {
		return nil
	}
	if admin != nil {
		admin.Close()
	}
	err := srv.stop()
	srv = nil
	return err
}

// startServer starts a server in Docker, else a local one. A reason to
// skip comes back when neither can be had.
func startServer() (server, string, error) {
	if s, err := startDocker(); err == nil {
		return s, "", nil
	} else if !errors.Is(err, errUnavailable) {
		return nil, "", fmt.Errorf("docker: %w", err)
	}
	s, err := startLocal()
	if errors.Is(err, errUnavailable) {
		return nil, "no Docker engine answers and no PostgreSQL is installed (/usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)", nil
	}
	return s, "", err
}

// errUnavailable marks a way of running a server that this machine lacks.
var errUnavailable = errors.New("not available")

// open connects to dsn and waits up to 30 s for the server to answer.
func open(dsn string) (*sql.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return db, nil
		}
		if time.Now().After(deadline) {
			db.Close()
			return nil, fmt.Errorf("server does not answer: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loopbackDSN(port, db string) string {
	return "postgres://postgres@127.0.0.1:" + port + "/" + db + "?sslmode=disable"
}
