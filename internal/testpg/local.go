package testpg

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// localServer is a cluster of the installed PostgreSQL in a temporary
// directory, run as a child of the test binary.
type localServer struct {
	dir  string
	port string
	cmd  *exec.Cmd
	exit chan error
}

// startLocal initdb's a cluster and starts its postmaster on a free
// loopback port. initdb refuses to run as root, so as root the cluster
// belongs to the postgres user.
func startLocal() (server, error) {
	bin, err := localBin()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testpg-")
	if err != nil {
		return nil, err
	}
	s := &localServer{dir: dir}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, err
		}
	}
	if cred != nil {
		for _, d := range []string{dir, data, sock} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.port = strconv.Itoa(port)
	// synchronous_commit=off: a commit does not wait for its log to reach
	// the disk, as SQLite's synchronous=NORMAL in the embedded store does
	// not. fsync=off: a throwaway cluster need not survive a power cut, and
	// a database per test is created in a few milliseconds instead of a
	// second.
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", s.port, "-k", sock,
		"-c", "listen_addresses=127.0.0.1", "-c", "synchronous_commit=off", "-c", "fsync=off", "-c", "full_page_writes=off",
		"-c", "max_connections=200")
	var log bytes.Buffer
	s.cmd.Stdout, s.cmd.Stderr = &log, &log
	// Pdeathsig: the server ends with the test binary even when that is
	// killed (SIGQUIT is PostgreSQL's immediate shutdown).
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.exit = make(chan error, 1)
	go func() { s.exit <- s.cmd.Wait() }()
	db, err := open(s.dsn("postgres"))
	if err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("postgres: %w: %s", err, log.String())
	}
	db.Close()
	ok = true
	return s, nil
}

func (s *localServer) dsn(db string) string { return loopbackDSN(s.port, db) }

// stop shuts the server down (fast shutdown: open sessions are ended) and
// removes its cluster.
func (s *localServer) stop() error {
	var err error
	select {
	case err = <-s.exit:
		err = fmt.Errorf("postgres had exited: %v", err)
	default:
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exit:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exit
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// localBin finds the newest installed PostgreSQL's programs.
func localBin() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", errUnavailable
	}
	slices.SortFunc(matches, func(a, b string) int { return major(b) - major(a) })
	return filepath.Dir(matches[0]), nil
}

func major(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// credential is the postgres user's when running as root, else nil (the
// current user).
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
