package testpg

import (
	"fmt"

	"github.com/ory/dockertest/v3"
	"github.com/ory/dockertest/v3/docker"
)

// dockerServer is a postgres container.
type dockerServer struct {
	pool *dockertest.Pool
	res  *dockertest.Resource
	port string
}

// startDocker runs postgres:15 with its port published on loopback only.
// NewPool succeeds without an engine, so a ping (which fails at once)
// decides whether there is one; without it the pool's Retry would wait a
// minute.
func startDocker() (server, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	if err := pool.Client.Ping(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository: "postgres",
		Tag:        "15",
		Env:        []string{"POSTGRES_HOST_AUTH_METHOD=trust"},
		Cmd:        []string{"postgres", "-c", "synchronous_commit=off", "-c", "fsync=off", "-c", "full_page_writes=off"},
		PortBindings: map[docker.Port][]docker.PortBinding{
			"5432/tcp": {{HostIP: "127.0.0.1", HostPort: ""}},
		},
	}, func(hc *docker.HostConfig) {
		hc.AutoRemove = true
		hc.RestartPolicy = docker.RestartPolicy{Name: "no"}
	})
	if err != nil {
		return nil, err
	}
	// A container outlives a test binary that was killed; this bounds it.
	_ = res.Expire(600)
	s := &dockerServer{pool: pool, res: res, port: res.GetPort("5432/tcp")}
	db, err := open(s.dsn("postgres"))
	if err != nil {
		_ = pool.Purge(res)
		return nil, err
	}
	db.Close()
	return s, nil
}

func (s *dockerServer) dsn(db string) string { return loopbackDSN(s.port, db) }

func (s *dockerServer) stop() error { return s.pool.Purge(s.res) }
