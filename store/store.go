// Package store is crmsync's local state: cursors, order and customer links,
// the event log, runs, parked failures, the write ledger used for echo
// suppression and the record of fired business rules.
//
// It is an SQLite database (modernc.org/sqlite, no cgo) in WAL mode. The
// remote ORIGIN_ID keys are the truth; this database is a cache plus the
// cursors, so losing it costs time, never duplicates.
//
// Every text the store persists passes through the configured redactor, as a
// last line of defence against secrets reaching the database file.
//
// Three ways to open it: read-write (the default; creates and migrates the
// file), ReadOnly (status: never writes the file) and Scratch (dry runs and
// tests: an in-memory copy that accepts writes and forgets them). One run
// at a time per database is enforced by Lock, separately from Open.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors, checkable with errors.Is. The returned errors wrap them
// with the database path and the fix.
var (
	// ErrSchemaTooNew: the database was written by a newer crmsync.
	ErrSchemaTooNew = errors.New("database schema is newer than this crmsync supports")
	// ErrSchemaTooOld: a read-only open found a database that needs a
	// migration, which only a writing command may perform.
	ErrSchemaTooOld = errors.New("database schema is older than this crmsync")
	// ErrCorrupt: the file is unreadable or not an SQLite database.
	ErrCorrupt = errors.New("database is corrupt or not an SQLite database")
	// ErrForeign: the file is an SQLite database of some other program.
	ErrForeign = errors.New("not a crmsync database")
	// ErrReadOnly: a write was attempted on a store opened read-only.
	ErrReadOnly = errors.New("store is open read-only")
	// ErrNotFound: a single-row lookup found nothing.
	ErrNotFound = errors.New("not found")
)

// applicationID marks the file as crmsync's ("crms"), so another program's
// SQLite file is refused instead of being migrated.
const applicationID = 0x63726d73

// DefaultBusyTimeout is how long a statement waits for another connection's
// lock (for example `status` reading while `pull` commits).
const DefaultBusyTimeout = 5 * time.Second

// Options configure Open.
type Options struct {
	// Redact masks secrets in every free text written to the database
	// (messages, errors, payloads, ledger values) before it reaches the
	// file. The store knows no secret: its caller, which does, passes the
	// function (crmsync passes its redactor's String). Nil keeps texts as
	// they are.
	Redact func(string) string
	// Now returns the current time; nil means time.Now. For tests.
	Now func() time.Time
	// ReadOnly opens the database for reading only (status, dry-run): no
	// migration runs and the file's bytes are not modified. The database
	// must exist.
	ReadOnly bool
	// Scratch opens a private in-memory copy of the database as it is at
	// open time: reads see the file's data, writes succeed but never reach
	// the file and vanish on Close. It lets --dry-run plan through exactly
	// the code a real run uses. A missing file or an older schema gives a
	// migrated copy; the file is never created or changed.
	Scratch bool
	// BusyTimeout overrides DefaultBusyTimeout.
	BusyTimeout time.Duration
}

// Store is an open crmsync database. It is safe for concurrent use.
type Store struct {
	reader
	db       *sql.DB
	pin      *sql.Conn // Scratch only: keeps the in-memory copy alive
	path     string
	readOnly bool
	scratch  bool
	busy     time.Duration
}

// Open opens (creating and migrating when needed) the database at path.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty database path")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = DefaultBusyTimeout
	}
	if opts.ReadOnly && opts.Scratch {
		return nil, errors.New("store: ReadOnly and Scratch exclude each other")
	}
	s := &Store{
		reader:   reader{redact: opts.Redact, now: now},
		path:     path,
		readOnly: opts.ReadOnly,
		scratch:  opts.Scratch,
		busy:     busy,
	}
	var err error
	if opts.Scratch {
		err = s.openScratch(ctx, busy)
	} else {
		err = s.openFile(busy)
	}
	if err == nil {
		s.q = s.db
		err = s.init(ctx)
	}
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) openFile(busy time.Duration) error {
	if err := prepareFile(s.path, s.readOnly); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", dsn(s.path, s.readOnly, busy))
	if err != nil {
		return fmt.Errorf("open database %s: %w", s.path, err)
	}
	// A handful of connections lets status-like reads run beside a write
	// transaction; SQLite serialises the writers anyway.
	db.SetMaxOpenConns(4)
	s.db = db
	return nil
}

// openScratch copies the file into a named in-memory database (SQLite's
// memdb VFS), which every connection of the pool shares while one of them,
// the pin, stays open. VACUUM INTO reads a consistent snapshot, WAL
// included, through a read-only connection.
func (s *Store) openScratch(ctx context.Context, busy time.Duration) error {
	name := "file:/crmsync-scratch-" + rand.Text() + "?vfs=memdb"
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", name+"&"+q.Encode())
	if err != nil {
		return fmt.Errorf("open scratch copy of %s: %w", s.path, err)
	}
	db.SetMaxOpenConns(4)
	s.db = db
	if s.pin, err = db.Conn(ctx); err != nil {
		return fmt.Errorf("open scratch copy of %s: %w", s.path, err)
	}
	if _, err := os.Stat(s.path); errors.Is(err, fs.ErrNotExist) {
		return nil // an empty copy, migrated by init
	}
	src, err := sql.Open("sqlite", dsn(s.path, true, busy))
	if err != nil {
		return fmt.Errorf("open database %s: %w", s.path, err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", name); err != nil {
		return s.classify("copy to scratch", err)
	}
	return nil
}

// prepareFile creates the database file with mode 0600 before SQLite sees
// it, so it is never world-readable, and tightens an existing file that is.
// SQLite gives the -wal and -shm files the main file's mode.
func prepareFile(path string, readOnly bool) error {
	if readOnly {
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("database %s does not exist yet (run crmsync backfill or pull first): %w", path, err)
			}
			return fmt.Errorf("database %s: %w", path, err)
		}
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("create database %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm()&0o007 != 0 {
		err = f.Chmod(fi.Mode().Perm() &^ 0o007)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("database %s: %w", path, err)
	}
	return nil
}

// dsn builds a URI filename, so a path with '?' or '#' still works and
// mode=ro is honoured.
func dsn(path string, readOnly bool, busy time.Duration) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// NORMAL is durable across application crashes in WAL mode; a
		// power loss may drop the last commit, which the next run redoes
		// from the remote keys.
		q.Add("_pragma", "synchronous(NORMAL)")
		// Writers take the lock at BEGIN, so two writers never deadlock
		// upgrading from read to write.
		q.Set("_txlock", "immediate")
	}
	return u.String() + "?" + q.Encode()
}

// init checks the file and brings the schema up to date.
func (s *Store) init(ctx context.Context) error {
	if err := s.ping(ctx); err != nil {
		return s.classify("open", err)
	}
	if s.readOnly {
		v, appID, tables, err := s.header(ctx, s.db)
		if err != nil {
			return err
		}
		if err := s.checkHeader(v, appID, tables); err != nil {
			return err
		}
		if v < len(migrations) {
			return fmt.Errorf("database %s has schema version %d, this crmsync needs %d: %w; run a command that writes (crmsync pull) once to upgrade it", s.path, v, len(migrations), ErrSchemaTooOld)
		}
		return nil
	}
	return s.migrate(ctx)
}

// ping opens the first connection. Switching a new file to WAL needs an
// exclusive lock, and SQLite answers SQLITE_BUSY at once, without the busy
// handler, when another process opens the same new file at that moment; so
// that case is retried here, as long as the busy timeout.
func (s *Store) ping(ctx context.Context) error {
	deadline := time.Now().Add(s.busy)
	for {
		err := s.db.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (s *Store) header(ctx context.Context, q queryer) (version, appID, tables int, err error) {
	err = q.QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
		(SELECT application_id FROM pragma_application_id),
		(SELECT count(*) FROM sqlite_schema WHERE type = 'table')`).Scan(&version, &appID, &tables)
	if err != nil {
		return 0, 0, 0, s.classify("read schema version", err)
	}
	return version, appID, tables, nil
}

func (s *Store) checkHeader(version, appID, tables int) error {
	if appID != applicationID && (appID != 0 || version != 0 || tables != 0) {
		return fmt.Errorf("database %s: %w (it holds another program's data); choose another --db path", s.path, ErrForeign)
	}
	if version > len(migrations) {
		return fmt.Errorf("database %s has schema version %d, this crmsync supports up to %d: %w; upgrade crmsync", s.path, version, len(migrations), ErrSchemaTooNew)
	}
	return nil
}

// migrate applies the missing migrations in one transaction. BEGIN
// IMMEDIATE makes a concurrent opener wait and then see the new version.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("begin migration", err)
	}
	defer func() { _ = tx.Rollback() }()
	v, appID, tables, err := s.header(ctx, tx)
	if err != nil {
		return err
	}
	if err := s.checkHeader(v, appID, tables); err != nil {
		return err
	}
	if v == len(migrations) {
		return nil
	}
	for _, m := range migrations[v:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("database %s: migration %s: %w", s.path, m.name, err)
		}
	}
	// PRAGMA takes no bind parameters; both values are integers we own.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d; PRAGMA application_id = %d", len(migrations), applicationID)); err != nil {
		return fmt.Errorf("database %s: set schema version: %w", s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return s.classify("commit migration", err)
	}
	return nil
}

// classify turns SQLite's "not a database"/"malformed" codes into ErrCorrupt
// with the path and the fix, and names the path in any other error.
func (s *Store) classify(op string, err error) error {
	if c := s.corrupt(err); c != nil {
		return c
	}
	return fmt.Errorf("database %s: %s: %w", s.path, op, err)
}

// corrupt returns err wrapped with ErrCorrupt, the path and the fix when
// SQLite reported a damaged file, or nil.
func (s *Store) corrupt(err error) error {
	var se *sqlite.Error
	if errors.Is(err, ErrCorrupt) || !errors.As(err, &se) {
		return nil
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("database %s: %w (%w); restore it from a backup or move it aside: the remote keys are the truth, so a fresh database creates no duplicates", s.path, ErrCorrupt, err)
	}
	return nil
}

// orCorrupt returns err, upgraded to an ErrCorrupt error when SQLite
// reported a damaged file, so the caller can tell the operator the fix.
func (s *Store) orCorrupt(err error) error {
	if c := s.corrupt(err); c != nil {
		return c
	}
	return err
}

// Check runs SQLite's quick integrity check (time proportional to the
// file's size); a damaged file gives an ErrCorrupt error.
func (s *Store) Check(ctx context.Context) error {
	var problems []string
	err := queryEach(ctx, s.db, "", "PRAGMA quick_check", nil, func(sc scanner) error {
		var line string
		err := sc.Scan(&line)
		if err == nil && line != "ok" {
			problems = append(problems, line)
		}
		return err
	})
	if err != nil {
		return s.classify("integrity check", err)
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], "...")
		}
		return fmt.Errorf("database %s: %w (%s); restore it from a backup or move it aside: the remote keys are the truth, so a fresh database creates no duplicates", s.path, ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// Close closes the database. In WAL mode the last writer to close folds the
// WAL back into the main file.
func (s *Store) Close() error {
	if s.pin != nil {
		_ = s.pin.Close()
	}
	if s.db == nil {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", s.path, err)
	}
	return nil
}

// Path returns the database path as given to Open.
func (s *Store) Path() string { return s.path }

// ReadOnly reports whether the store was opened read-only.
func (s *Store) ReadOnly() bool { return s.readOnly }

// Scratch reports whether the store is an in-memory copy (Options.Scratch).
func (s *Store) Scratch() bool { return s.scratch }

// SchemaVersion returns the database's user_version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("database %s: schema version: %w", s.path, err)
	}
	return v, nil
}

// SupportedSchemaVersion is the schema version this binary creates and reads.
func SupportedSchemaVersion() int { return len(migrations) }

// Checkpoint folds the WAL into the main file and truncates it, e.g. before a
// file-level backup.
func (s *Store) Checkpoint(ctx context.Context) error {
	if s.readOnly {
		return ErrReadOnly
	}
	if _, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return fmt.Errorf("database %s: checkpoint: %w", s.path, err)
	}
	return nil
}

// Tx runs fn in one write transaction: everything fn writes is committed
// together, or nothing is when fn returns an error (which Tx returns as is,
// unless it reports a damaged file: then it also wraps ErrCorrupt).
//
// Inside fn use tx's own read methods, which see its writes; the Store's
// write methods (StartRun, RetryFailures, ...) must not be called there:
// they need a transaction of their own and would wait for this one.
func (s *Store) Tx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.readOnly {
		return fmt.Errorf("database %s: %w", s.path, ErrReadOnly)
	}
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.classify("begin", err)
	}
	// Rolls back on error and on panic; a no-op after Commit.
	defer func() { _ = sqlTx.Rollback() }()
	stx := newStmtTx(sqlTx)
	tx := &Tx{reader: reader{q: stx, redact: s.redact, now: s.now}, tx: stx}
	if err := fn(tx); err != nil {
		return s.orCorrupt(err)
	}
	if err := sqlTx.Commit(); err != nil {
		return s.classify("commit", err)
	}
	return nil
}
