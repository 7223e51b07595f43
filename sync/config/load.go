package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// ErrInvalid is wrapped by every configuration error, so callers map all of
// them to one exit code with errors.Is.
var ErrInvalid = errors.New("invalid configuration")

// EnvPrefix is the prefix of every configuration environment variable.
const EnvPrefix = "CRMSYNC"

// FileName is the configuration file's base name.
const FileName = "crmsync.yaml"

// FieldError is one problem with one key.
type FieldError struct {
	Key     string
	Problem string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Problem }

// Errors is every problem found in one configuration, reported together so a
// user fixes them in one go. A problem names its key and where the value
// came from (a line of the file, an environment variable, a secret file),
// never the value itself: a secret put under the wrong key must not be
// printed by the very error that reports it.
type Errors struct {
	File   string
	Fields []*FieldError

	// Partial is the configuration as far as it could be read, for what a
	// command needs even when the rest is wrong: the database path, the log
	// settings, the secrets to keep out of its output. Never run with it.
	// Nil when the problem is not with the configuration's values.
	Partial *Config

	// lines holds the line of every key path in the file (sequence items as
	// key[i]); origins overrides it for values read from elsewhere.
	lines   map[string]int
	origins map[string]string
}

func (e *Errors) Error() string {
	lines := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		lines[i] = f.Error()
	}
	prefix := "configuration"
	if e.File != "" {
		prefix = "config " + e.File
	}
	if len(lines) == 1 {
		return prefix + ": " + lines[0]
	}
	return prefix + ":\n  " + strings.Join(lines, "\n  ")
}

func (e *Errors) Unwrap() error { return ErrInvalid }

func (e *Errors) add(key, format string, args ...any) {
	if section, _, ok := strings.Cut(key, "."); ok && e.has(section) {
		return // the section itself is wrong (a scalar where keys belong)
	}
	problem := fmt.Sprintf(format, args...)
	if !strings.Contains(problem, "(line ") {
		if w := e.where(key); w != "" {
			problem += " (" + w + ")"
		}
	}
	e.Fields = append(e.Fields, &FieldError{Key: key, Problem: problem})
}

// where says where key's value came from: an environment variable beats the
// file, as it does when the value is read.
func (e *Errors) where(key string) string {
	if w, ok := e.origins[key]; ok {
		return w
	}
	base, _, _ := strings.Cut(key, "[")
	if isSchemaKey(base) {
		if os.Getenv(EnvName(base)) != "" {
			return "from " + EnvName(base)
		}
	}
	if line, ok := e.lines[key]; ok {
		return fmt.Sprintf("line %d", line)
	}
	return ""
}

func (e *Errors) setOrigin(key, where string) {
	if e.origins == nil {
		e.origins = map[string]string{}
	}
	e.origins[key] = where
}

// has reports whether key already has a problem, so one mistake is not
// reported twice (a wrong type, then a range check on the zero value).
func (e *Errors) has(key string) bool {
	for _, f := range e.Fields {
		if f.Key == key {
			return true
		}
	}
	return false
}

func (e *Errors) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Options say where Load looks.
type Options struct {
	// File is --config (or CRMSYNC_CONFIG); when set it must exist.
	File string
	// SearchPath overrides the default search order; nil means DefaultSearchPath.
	SearchPath []string
	// CredentialsDir is where systemd's LoadCredential= puts secrets; ""
	// means $CREDENTIALS_DIRECTORY.
	CredentialsDir string
}

// DefaultSearchPath is the documented order (docs/configuration.md): ./crmsync.yaml,
// $XDG_CONFIG_HOME/crmsync/crmsync.yaml, /etc/crmsync/crmsync.yaml.
func DefaultSearchPath() []string {
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		if home, err := os.UserHomeDir(); err == nil {
			xdg = filepath.Join(home, ".config")
		}
	}
	paths := []string{filepath.Join(".", FileName)}
	if xdg != "" {
		paths = append(paths, filepath.Join(xdg, "crmsync", FileName))
	}
	return append(paths, filepath.Join("/etc", "crmsync", FileName))
}

// Prepare makes v look keys up in the environment (EnvName). Call it
// before binding flags; Load calls it too and it is idempotent. v carries
// the environment and the flags only: the defaults and the file are Load's,
// so v.Get answers with a flag or an environment variable, else with nil
// (a bound flag's own default).
func Prepare(v *viper.Viper) {
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
}

// Load finds and reads the configuration file, layers the environment and
// any flags bound to v on top, and validates the result. It returns every
// problem at once as *Errors (errors.Is(err, ErrInvalid)). Credentials are not
// required here; see RequireAPIs.
func Load(v *viper.Viper, opts Options) (*Config, error) {
	Prepare(v)
	cfg := defaults()
	problems := &Errors{}

	path, searched, err := locate(opts)
	cfg.Searched = searched
	if err != nil {
		return nil, err
	}
	var root *yaml.Node
	if path != "" {
		cfg.File = path
		problems.File = path
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config %s: cannot read it: %w: %w", path, err, ErrInvalid)
		}
		root, err = parseYAML(data)
		if err != nil {
			return nil, fmt.Errorf("config %s: not valid YAML: %s: %w", path, yamlProblem(err), ErrInvalid)
		}
		problems.lines = keyLines(root)
		checkKeys(root, problems)
	}

	credDir := opts.CredentialsDir
	if credDir == "" {
		credDir = os.Getenv("CREDENTIALS_DIRECTORY")
	}
	err = read(v, root, cfg, problems)
	if err == nil {
		err = readSecrets(v, root, credDir, cfg, problems)
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: not valid YAML: %s: %w", path, yamlProblem(err), ErrInvalid)
	}
	validate(cfg, problems)
	if err := problems.err(); err != nil {
		problems.Partial = cfg
		return nil, err
	}
	return cfg, nil
}

// RequireAPIs reports the settings a command that talks to both APIs cannot
// run without.
func (c *Config) RequireAPIs() error {
	problems := &Errors{File: c.File}
	for _, k := range []struct{ key, value string }{
		{"retailcrm.url", c.RetailCRM.URL},
		{"retailcrm.api_key", c.RetailCRM.APIKey},
		{"bitrix.webhook_url", c.Bitrix.WebhookURL},
	} {
		if k.value == "" {
			where := "in " + FileName
			if c.File != "" {
				where = "in " + c.File
			}
			problems.add(k.key, "required: set it %s or in %s", where, EnvName(k.key))
		}
	}
	if c.File == "" && len(problems.Fields) > 0 {
		problems.add("config", "no configuration file found (looked at %s); pass --config FILE", strings.Join(c.Searched, ", "))
	}
	return problems.err()
}

// EnvName is the environment variable for a key path.
func EnvName(path string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
}

func locate(opts Options) (string, []string, error) {
	if opts.File != "" {
		st, err := os.Stat(opts.File)
		switch {
		case err != nil:
			return "", nil, fmt.Errorf("config %s: %w: %w", opts.File, errors.Unwrap(err), ErrInvalid)
		case st.IsDir():
			return "", nil, fmt.Errorf("config %s: is a directory, expected a YAML file: %w", opts.File, ErrInvalid)
		}
		return opts.File, nil, nil
	}
	search := opts.SearchPath
	if search == nil {
		search = DefaultSearchPath()
	}
	for _, p := range search {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, search, nil
		}
	}
	return "", search, nil
}

func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if err := mappingKeys(&doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty file: all defaults
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: the top level must be a mapping of keys (db:, retailcrm:, bitrix:, ...)", root.Line)
	}
	return root, nil
}

// mappingKeys refuses what the YAML decoder refuses when it decodes into a
// map (it does not when it builds a yaml.Node): a key named twice in one
// mapping, as it is never clear which value was meant, and a key that is a
// list or a mapping.
func mappingKeys(n *yaml.Node) error {
	var problems []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i < len(n.Content); i += 2 {
				ki := n.Content[i]
				if ki.Kind == yaml.SequenceNode || ki.Kind == yaml.MappingNode {
					problems = append(problems, fmt.Sprintf("line %d: a key must be a single value, not a list or a mapping", ki.Line))
				}
				for j := i + 2; j < len(n.Content); j += 2 {
					if kj := n.Content[j]; ki.Kind == kj.Kind && ki.Value == kj.Value {
						problems = append(problems, fmt.Sprintf("line %d: mapping key %q already defined at line %d", kj.Line, kj.Value, ki.Line))
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "\n"))
}

// quotedValue is how the YAML parser quotes a value in its messages.
var quotedValue = regexp.MustCompile("`[^`]*`")

// anchorName is how it names an anchor: a value written *name or &name,
// which may well be a secret that happens to start with * or &.
var anchorName = regexp.MustCompile(`anchor '[^']*'`)

// yamlProblem turns a YAML parser's message into one line without the
// parsers' prefixes and without the values it quotes.
func yamlProblem(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"While parsing config: ", "yaml: ", "unmarshal errors:"} {
		msg = strings.TrimPrefix(strings.TrimSpace(msg), prefix)
	}
	msg = quotedValue.ReplaceAllString(msg, "a value")
	msg = anchorName.ReplaceAllString(msg, "anchor (a value that starts with * or &: put it in quotes)")
	return strings.Join(strings.Fields(msg), " ")
}

// keyLines maps every key path in the file to its line.
func keyLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key, val := n.Content[i], n.Content[i+1]
				path := key.Value
				if prefix != "" {
					path = prefix + "." + key.Value
				}
				lines[path] = key.Line
				walk(val, path)
			}
		case yaml.SequenceNode:
			for i, item := range n.Content {
				path := fmt.Sprintf("%s[%d]", prefix, i)
				lines[path] = item.Line
				walk(item, path)
			}
		}
	}
	if root != nil {
		walk(root, "")
	}
	return lines
}

// isSchemaKey reports whether path is a configuration key (and so may come
// from the environment).
func isSchemaKey(path string) bool {
	return slices.Contains(Keys(), path)
}

// sectionKeys lists a few keys of a section, for an error that says a
// section was expected.
func sectionKeys(section string) string {
	var keys []string
	for _, k := range Keys() {
		if rest, ok := strings.CutPrefix(k, section+"."); ok && len(keys) < 3 {
			keys = append(keys, rest+":")
		}
	}
	return strings.Join(append(keys, "..."), " ")
}

// checkKeys reports keys the schema does not know, with a suggestion.
func checkKeys(root *yaml.Node, problems *Errors) {
	if root == nil {
		return
	}
	known := map[string]bool{}
	sections := map[string]bool{}
	for _, k := range Keys() {
		known[k] = true
		// Every prefix is a section: bitrix, and mapping.products too.
		for i := range len(k) {
			if k[i] == '.' {
				sections[k[:i]] = true
			}
		}
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			path := key.Value
			if prefix != "" {
				path = prefix + "." + key.Value
			}
			if known[path] {
				continue
			}
			if sections[path] {
				switch val.Kind {
				case yaml.MappingNode:
					walk(val, path)
				case yaml.ScalarNode:
					if val.Tag != "!!null" {
						// The value is not shown: it is often a secret
						// written one level too high.
						problems.add(path, "must be a section of keys (%s), not a single value (line %d)", sectionKeys(path), val.Line)
					}
				default:
					problems.add(path, "must be a section of keys (line %d)", val.Line)
				}
				continue
			}
			msg := fmt.Sprintf("unknown key (line %d)", key.Line)
			if s := suggest(path, known); s != "" {
				msg += "; did you mean " + s + "?"
			}
			problems.add(path, "%s", msg)
		}
	}
	walk(root, "")
}

// suggest returns the known key closest to path, if it is close enough to be
// a typo.
func suggest(path string, known map[string]bool) string {
	best, bestDist := "", 4
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if d := editDistance(path, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
