package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gofrs/flock"
)

// ErrLocked: another run holds the database's lock. The error is a
// *LockedError.
var ErrLocked = errors.New("database is in use by another crmsync run")

// LockedError tells who holds the lock. Fields are zero when the holder had
// not yet written them (it has just started).
type LockedError struct {
	Path    string // the database path
	PID     int
	Command string
	Started time.Time
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("database %s is in use by another crmsync process; wait for it to finish", e.Path)
	}
	return fmt.Sprintf("database %s is in use by crmsync %s (pid %d, started %s); wait for it to finish",
		e.Path, e.Command, e.PID, e.Started.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockInfo is the lock file's content, for the LockedError of the next caller.
type lockInfo struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

// RunLock is the single-run lock of one database. The kernel releases it
// when the holder dies, so a killed run never leaves a stale lock behind.
type RunLock struct {
	fl   *flock.Flock
	path string
}

// LockPath is the lock file used for a database.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// Lock takes the database's run lock without waiting. When another process
// (or another Lock in this process) holds it, the error is a *LockedError
// and errors.Is(err, ErrLocked) is true.
func Lock(ctx context.Context, dbPath, command string) (*RunLock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := LockPath(dbPath)
	fl := flock.New(path, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		le := &LockedError{Path: dbPath}
		var info lockInfo
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &info) == nil {
			le.PID, le.Command, le.Started = info.PID, info.Command, info.Started
		}
		return nil, le
	}
	// The lock file is never removed: deleting it would let two processes
	// lock two different inodes. Its content is only informational.
	b, _ := json.Marshal(lockInfo{PID: os.Getpid(), Command: command, Started: time.Now().UTC().Truncate(time.Second)})
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &RunLock{fl: fl, path: path}, nil
}

// Path returns the lock file's path.
func (l *RunLock) Path() string { return l.path }

// Release empties the lock file and releases the lock. It is safe to call
// more than once.
func (l *RunLock) Release() error {
	if !l.fl.Locked() {
		return nil
	}
	// Emptied while still held, so nobody reads a finished run as holder.
	_ = os.Truncate(l.path, 0)
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}
