package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// commandRows returns the first cell of every table row of a markdown file
// that names a crmsync command (`crmsync pull [...]`).
func commandRows(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for line := range strings.SplitSeq(string(data), "\n") {
		cells := strings.Split(line, " | ")
		if strings.HasPrefix(line, "| `crmsync ") && len(cells) > 1 {
			rows = append(rows, strings.TrimPrefix(cells[0], "| "))
		}
	}
	return rows
}

// TestDocsListEveryFlag: the command tables of README.md and
// docs/operations.md name every command and each of its flags as
// `crmsync <cmd> --help` shows them, and both list the global flags.
func TestDocsListEveryFlag(t *testing.T) {
	t.Parallel()
	root := (&app{v: viper.New()}).rootCmd()
	for _, doc := range []string{"README.md", filepath.Join("docs", "operations.md")} {
		path := filepath.Join("..", "..", doc)
		rows := commandRows(t, path)
		for _, cmd := range root.Commands() {
			if cmd.Hidden || cmd.Name() == "help" {
				continue
			}
			name := regexp.MustCompile("`crmsync " + cmd.Name() + "[ `]")
			var row string
			for _, r := range rows {
				if loc := name.FindStringIndex(r); loc != nil {
					row = r[loc[0]:]
					// A cell may name two commands (`crmsync retry`, `crmsync skip`).
					if end := strings.Index(row[1:], "`crmsync "); end >= 0 {
						row = row[:end+1]
					}
					break
				}
			}
			if row == "" {
				t.Errorf("%s: no row for crmsync %s", doc, cmd.Name())
				continue
			}
			cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
				if f.Name != "help" && !strings.Contains(row, "--"+f.Name+"]") && !strings.Contains(row, "--"+f.Name+" ") {
					t.Errorf("%s: the row of crmsync %s lacks --%s: %s", doc, cmd.Name(), f.Name, row)
				}
			})
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, global, ok := strings.Cut(string(data), "Global flags:")
		global, _, _ = strings.Cut(global, "\n\n")
		if !ok {
			t.Errorf("%s has no Global flags: line", doc)
		}
		root.PersistentFlags().VisitAll(func(f *pflag.Flag) {
			if !strings.Contains(global, "`--"+f.Name) && !strings.Contains(global, "/--"+f.Name+"`") &&
				(f.Shorthand == "" || !strings.Contains(global, "`-"+f.Shorthand)) {
				t.Errorf("%s: Global flags lack --%s", doc, f.Name)
			}
		})
	}
}

// TestDocsLinksResolve: every relative link between the repository's
// markdown files names a file that exists and, with #anchor, a heading in it.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	repo := filepath.Join("..", "..")
	files, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(repo, "README.md"), filepath.Join(repo, "BENCHMARKS.md"))
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading := regexp.MustCompile(`(?m)^#+\s+(.+)$`)
	anchors := func(path string) map[string]bool {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		out := map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(string(data), -1) {
			// GitHub's slug: lower case, punctuation dropped, spaces to hyphens.
			slug := strings.Map(func(r rune) rune {
				switch {
				case r == ' ':
					return '-'
				case r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r > 127:
					return r
				}
				return -1
			}, strings.ToLower(strings.TrimSpace(m[1])))
			out[slug] = true
		}
		return out
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(data), -1) {
			target, anchor, _ := strings.Cut(m[1], "#")
			if strings.Contains(target, "://") {
				continue
			}
			path := f
			if target != "" {
				path = filepath.Join(filepath.Dir(f), target)
			}
			a := anchors(path)
			switch {
			case a == nil:
				t.Errorf("%s: link %s: no such file", f, m[1])
			case anchor != "" && !a[anchor]:
				t.Errorf("%s: link %s: no such heading", f, m[1])
			}
		}
	}
}

// TestDocsQuoteTheExit3Messages: the troubleshooting table of
// docs/operations.md quotes the exit-3 messages as crmsync prints them.
func TestDocsQuoteTheExit3Messages(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	waiting := (&failedItems{command: "pull", parked: 2, waiting: 2}).Error()
	out := (&failedItems{command: "pull", parked: 1, waiting: 0}).Error()
	for _, quote := range []struct{ msg, part string }{
		{waiting, "finished, but 2 items were parked (2 waiting for a retry, "},
		{out, "1 out of attempts; "},
		{out, "those out of attempts need crmsync retry or skip)"},
	} {
		if !strings.Contains(quote.msg, quote.part) {
			t.Errorf("crmsync prints %q, without %q", quote.msg, quote.part)
		}
		if !strings.Contains(doc, "| exit 3, `") || !strings.Contains(doc, quote.part) {
			t.Errorf("docs/operations.md does not quote %q", quote.part)
		}
	}
}

// TestDeployUsesFlagsThatExist: every crmsync command line in deploy/ (the
// systemd units, the cron example, the Kubernetes manifests) names a command
// and flags this binary parses.
func TestDeployUsesFlagsThatExist(t *testing.T) {
	t.Parallel()
	var files []string
	for _, pattern := range []string{"systemd/*", "cron/*", "kubernetes/*.yaml"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "deploy", pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	argsLine := regexp.MustCompile(`^\s*args:\s*(\[.*\])\s*$`)
	seen := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			var args []string
			if m := argsLine.FindStringSubmatch(line); m != nil {
				if err := json.Unmarshal([]byte(m[1]), &args); err != nil {
					t.Errorf("%s: args not a JSON list: %v", f, err)
					continue
				}
			} else if _, cmdline, ok := strings.Cut(line, "/usr/local/bin/crmsync "); ok && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				cmdline, _, _ = strings.Cut(cmdline, ">")
				args = strings.Fields(cmdline)
			} else {
				continue
			}
			seen++
			root := (&app{v: viper.New()}).rootCmd()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == root {
				t.Errorf("%s: %q names no command: %v", f, args, err)
				continue
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("%s: %q: %v", f, args, err)
			} else if extra := cmd.Flags().Args(); len(extra) > 0 {
				t.Errorf("%s: %q: unexpected arguments %q", f, args, extra)
			}
		}
	}
	if seen < 10 {
		t.Errorf("found only %d crmsync command lines in deploy/", seen)
	}
}

// TestREADMEIsANewcomersPage: the README stays under 8 KB (the details live
// in docs/) and its first lines give the two fresh-machine commands.
func TestREADMEIsANewcomersPage(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) >= 8<<10 {
		t.Errorf("README.md is %d bytes; keep it under 8 KB and move details to docs/", len(data))
	}
	head := strings.Join(strings.SplitN(string(data), "\n", 12)[:11], "\n")
	for _, cmd := range []string{"make demo", "make test"} {
		if !strings.Contains(head, cmd) {
			t.Errorf("the README's first lines do not give %q:\n%s", cmd, head)
		}
	}
}
