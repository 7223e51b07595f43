package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/redact"
	"github.com/crmsync/crmsync/sync/runs"
)

// streams are the process's standard files; tests pass buffers.
type streams struct {
	in  io.Reader
	out io.Writer // the command's output only
	err io.Writer // logs and errors
}

// globalOptions are the global flags (docs/operations.md, Commands).
type globalOptions struct {
	configFile  string
	db          string
	logFormat   string
	logLevel    string
	quiet       bool
	verbose     bool
	metricsFile string
}

// app is what every command shares: the streams, the one viper instance,
// the loaded configuration, the redactor and the logger. Nothing here is
// global; run builds one app per invocation.
type app struct {
	streams
	v        *viper.Viper
	global   globalOptions
	sig      *signals
	redactor *redact.Redactor
	log      *slog.Logger
	apis     *runs.Counter // every HTTP request of this invocation, for the metrics file

	cfg    *config.Config
	cfgErr error

	// ran is set once cobra has parsed flags and arguments and handed over
	// to crmsync's own code; an error before that is a usage error.
	ran bool
	// stopsOnSignal: a signal is the command's normal end (serve), exit 0.
	stopsOnSignal bool
}

// run executes one crmsync invocation and returns its exit code.
func run(ctx context.Context, args []string, st streams, sig *signals) int {
	a := &app{streams: st, v: viper.New(), sig: sig, redactor: redact.New(), apis: &runs.Counter{}}
	a.log = slog.New(a.redactor.Handler(slog.NewTextHandler(st.err, nil)))
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(st.in)
	root.SetOut(st.out)
	root.SetErr(st.err)

	started := time.Now()
	cmd, err := a.execute(ctx, root)
	if err != nil && !a.ran {
		err = &usageError{err: err}
	}
	code := exitCode(err, sig.interrupted() && !a.stopsOnSignal)
	if err != nil && !errors.Is(err, errPending) {
		a.printError(err, code)
	}
	a.writeMetrics(ctx, cmd, code, started)
	return code
}

// execute runs the command line. A panic in it is recovered and returned
// as a panicError, so that its value and stack are printed through the
// redactor like every other error: left to the runtime, a panic value that
// quotes a request URL or a key would reach stderr as it is.
func (a *app) execute(ctx context.Context, root *cobra.Command) (cmd *cobra.Command, err error) {
	defer func() {
		if r := recover(); r != nil {
			a.ran = true // crmsync's own fault, never a usage error
			cmd, err = nil, &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return root.ExecuteContextC(ctx)
}

// panicError is a panic recovered by execute: a bug, reported with the
// stack a bug report needs (exit code 1).
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string {
	return fmt.Sprintf("internal error (a bug; please report it with what follows): panic: %v\n\n%s", e.value, e.stack)
}

func (a *app) printError(err error, code int) {
	msg := a.redactor.String(err.Error())
	msg = strings.TrimPrefix(msg, "crmsync ") // "crmsync skip: ..." reads as "crmsync: skip: ..."
	switch code {
	case exitUsage:
		fmt.Fprintf(a.err, "crmsync: %s\nRun 'crmsync --help' for usage.\n", msg)
	case exitInterrupted:
		fmt.Fprintln(a.err, "crmsync: interrupted; the next run continues from the last committed page")
	default:
		fmt.Fprintf(a.err, "crmsync: %s\n", msg)
	}
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "crmsync",
		Short: "Keep a RetailCRM account and a Bitrix24 portal in sync",
		Long: `crmsync reads what changed in RetailCRM since its last run and writes it to
Bitrix24 as contacts and deals (pull), carries deal stages and manager comments
back to the orders (push), and remembers where it stopped in an SQLite database.
Run it from cron or a systemd timer every few minutes.

Configuration comes from crmsync.yaml (--config, else ./crmsync.yaml, else
$XDG_CONFIG_HOME/crmsync/crmsync.yaml, else /etc/crmsync/crmsync.yaml) and from
CRMSYNC_* environment variables; flags beat the environment, which beats the file.

Exit codes: 0 ok; 1 error; 2 usage error (or pending changes with
--detailed-exitcode); 3 finished but some items were parked (see crmsync
status --failed); 4 configuration or authentication
error; 5 another run holds the lock; 130 interrupted.`,
		Example: `  crmsync check
  crmsync backfill --since 2025-01-01
  crmsync pull --dry-run
  crmsync status --json`,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.ran = true
			return a.setup()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err: err} })

	f := root.PersistentFlags()
	f.StringVar(&a.global.configFile, "config", "", "configuration file (default: ./crmsync.yaml, $XDG_CONFIG_HOME/crmsync/crmsync.yaml, /etc/crmsync/crmsync.yaml)")
	f.StringVar(&a.global.db, "db", "", "SQLite database file (default from config: ./crmsync.db)")
	f.StringVar(&a.global.logFormat, "log-format", "", "log format on stderr: text or json (default text)")
	f.StringVar(&a.global.logLevel, "log-level", "", "log level: debug, info, warn or error (default info)")
	f.BoolVarP(&a.global.quiet, "quiet", "q", false, "log only warnings and errors")
	f.BoolVarP(&a.global.verbose, "verbose", "v", false, "log debug detail")
	f.StringVar(&a.global.metricsFile, "metrics-file", "", "after pull, push or backfill, write Prometheus metrics to this file (node_exporter textfile collector)")
	config.Prepare(a.v)
	for key, flag := range map[string]string{"db": "db", "log_format": "log-format", "log_level": "log-level"} {
		// Flag > env > file > default: config.Load reads the flag through a.v.
		_ = a.v.BindPFlag(key, f.Lookup(flag))
	}

	root.AddCommand(
		a.pullCmd(),
		a.pushCmd(),
		a.backfillCmd(),
		a.serveCmd(),
		a.statusCmd(),
		a.checkCmd(),
		a.retryCmd(),
		a.skipCmd(),
		a.versionCmd(),
		a.completionCmd(),
	)
	return root
}

// setup loads the configuration and builds the redactor and logger. A bad
// configuration is kept in cfgErr, not returned: status, retry and skip work
// without one, and the commands that need it ask through config().
func (a *app) setup() error {
	if a.global.quiet && a.global.verbose {
		return &usageError{err: errors.New("--quiet and --verbose contradict each other; give one")}
	}
	file := a.global.configFile
	if file == "" {
		file = os.Getenv(config.EnvPrefix + "_CONFIG")
	}
	a.cfg, a.cfgErr = config.Load(a.v, config.Options{File: file})

	var secrets []string
	for _, k := range config.SecretKeys() {
		secrets = append(secrets, a.v.GetString(k))
	}
	if c := a.readConfig(); c != nil {
		secrets = append(secrets, c.Secrets()...)
	}
	a.redactor = redact.New(secrets...)

	logger, err := a.newLogger()
	if err != nil {
		return err
	}
	a.log = logger
	if a.cfgErr == nil {
		a.log.Debug("configuration loaded", "file", a.cfg.File, "db", a.cfg.DB)
	}
	return nil
}

// readConfig is the configuration as far as it was read: the valid one,
// else what one with problems still says (the database, the log settings,
// the secrets to redact); nil when the file could not be read at all.
func (a *app) readConfig() *config.Config {
	if a.cfg != nil {
		return a.cfg
	}
	if problems, ok := errors.AsType[*config.Errors](a.cfgErr); ok {
		return problems.Partial
	}
	return nil
}

// setting is a key of the configuration that commands need even when it
// is broken: flag > environment > file > default.
func (a *app) setting(key string, read func(*config.Config) string) string {
	if c := a.readConfig(); c != nil {
		return read(c)
	}
	return a.v.GetString(key) // the flag or the environment, or ""
}

// newLogger builds the logger from the log settings. A wrong --log-level
// or --log-format is a usage error; a wrong value from the file or the
// environment is left to the configuration's own error, which names the key
// and its line without the value, and the default is used meanwhile.
func (a *app) newLogger() (*slog.Logger, error) {
	level := slog.LevelInfo
	name := strings.ToLower(a.setting("log_level", func(c *config.Config) string { return c.LogLevel }))
	if a.global.logLevel == "" && !config.ValidLogLevel(name) {
		name = ""
	}
	switch name {
	case "", "info":
	case "debug":
		level = slog.LevelDebug
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, &usageError{err: fmt.Errorf("--log-level: %q is not one of debug, info, warn, error", name)}
	}
	if a.global.verbose {
		level = slog.LevelDebug
	}
	if a.global.quiet {
		level = slog.LevelWarn
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	format := strings.ToLower(a.setting("log_format", func(c *config.Config) string { return c.LogFormat }))
	if a.global.logFormat == "" && !config.ValidLogFormat(format) {
		format = ""
	}
	switch format {
	case "", "text":
		h = slog.NewTextHandler(a.err, opts)
	case "json":
		h = slog.NewJSONHandler(a.err, opts)
	default:
		return nil, &usageError{err: fmt.Errorf("--log-format: %q is not one of text, json", format)}
	}
	return slog.New(a.redactor.Handler(h)), nil
}

// config returns the validated configuration; needAPIs also requires the
// credentials of both services.
func (a *app) config(needAPIs bool) (*config.Config, error) {
	if a.cfgErr != nil {
		return nil, a.cfgErr
	}
	if needAPIs {
		if err := a.cfg.RequireAPIs(); err != nil {
			return nil, err
		}
	}
	return a.cfg, nil
}

// dbPath is --db, else CRMSYNC_DB, else the file's db, else the default —
// available even when the rest of the configuration is broken.
func (a *app) dbPath() string {
	if a.cfg != nil {
		return a.cfg.DB
	}
	if p := a.setting("db", func(c *config.Config) string { return c.DB }); p != "" {
		return p
	}
	return config.DefaultDB
}

// openStore opens the database for a command that writes to it.
func (a *app) openStore(ctx context.Context) (*store.Store, error) {
	return store.Open(ctx, a.dbPath(), store.Options{Redact: a.redactor.String})
}

// openRunStore opens the database for a pull, push or backfill. A dry run
// gets a private in-memory copy: the engine commits as usual and the file
// stays byte-for-byte the same.
func (a *app) openRunStore(ctx context.Context, dryRun bool) (*store.Store, error) {
	return store.Open(ctx, a.dbPath(), store.Options{Redact: a.redactor.String, Scratch: dryRun})
}

// openStoreReadOnly opens an existing database without changing it. ok is
// false when there is no database yet.
func (a *app) openStoreReadOnly(ctx context.Context) (st *store.Store, ok bool, err error) {
	path := a.dbPath()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	st, err = store.Open(ctx, path, store.Options{Redact: a.redactor.String, ReadOnly: true})
	if errors.Is(err, store.ErrSchemaTooOld) {
		// An empty file or an older schema: migrating is cheap and safe.
		st, err = a.openStore(ctx)
	}
	if err != nil {
		return nil, false, err
	}
	return st, true, nil
}

// lock takes the database's single-run lock for command and returns the
// function that releases it.
func (a *app) lock(ctx context.Context, command string) (release func(), err error) {
	l, err := store.Lock(ctx, a.dbPath(), command)
	if err != nil {
		return nil, err
	}
	return func() {
		if err := l.Release(); err != nil {
			a.log.Warn("releasing the run lock", "err", err)
		}
	}, nil
}

// noArgs is cobra.NoArgs with a usage error, so the exit code is 2.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return &usageError{err: fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}

// needArgs is the Args of a command that takes from lo to hi arguments (hi
// < 0: no upper bound): any other count is a usage error (exit 2) saying
// what to name.
func needArgs(lo, hi int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || (hi >= 0 && len(args) > hi) {
			return &usageError{err: fmt.Errorf("%s: %s", cmd.CommandPath(), what)}
		}
		return nil
	}
}
