package connectors

import (
	"context"
	"hash/fnv"
)

// Locker serialises work on one key: a retry of a submission racing its
// original, two changes of one message's state. The default, LocalLocker,
// serialises within one process; a deployment of several gateways gives
// every connector one Locker they share (redisstate.Locks), so that a
// retry that reaches another gateway waits as well.
type Locker interface {
	// Lock waits until it holds key and returns the function that lets it
	// go. It gives up with an error when ctx ends or the store of locks
	// fails; the caller then does not do the work (a busy answer).
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// LocalLocker is a Locker of one process: a fixed set of locks, each key
// hashed to one of them, so that its memory is bounded however many keys
// it sees (two keys that share a lock merely wait for each other). Its
// zero value is not usable; make one with NewLocalLocker.
type LocalLocker struct {
	slots []chan struct{}
}

// NewLocalLocker returns a LocalLocker of 1024 locks.
func NewLocalLocker() *LocalLocker {
	l := &LocalLocker{slots: make([]chan struct{}, 1024)}
	for i := range l.slots {
		l.slots[i] = make(chan struct{}, 1)
	}
	return l
}

// Lock implements Locker.
func (l *LocalLocker) Lock(ctx context.Context, key string) (func(), error) {
	h := fnv.New32a()
	h.Write([]byte(key))
	slot := l.slots[h.Sum32()%uint32(len(l.slots))]
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// Locks returns the Locker a connector serialises with: d.Locker, or a
// new LocalLocker when there is none.
func (d Deps) Locks() Locker {
	if d.Locker != nil {
		return d.Locker
	}
	return NewLocalLocker()
}
