package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

// SecretKeys are the keys whose values are secrets (tagged secret:"true" in
// Config). Each also has a _file form and a systemd credential
// (CredentialName); docs/configuration.md, "Secrets".
func SecretKeys() []string {
	var out []string
	for _, f := range fields() {
		if f.secret {
			out = append(out, f.path)
		}
	}
	return out
}

// FileKey is the key that names a file holding the secret key instead,
// e.g. retailcrm.api_key_file.
func FileKey(key string) string { return key + "_file" }

// CredentialName is the name of the systemd credential (LoadCredential=)
// that holds a secret key: the key path with "_" for ".", e.g.
// retailcrm_api_key for retailcrm.api_key.
func CredentialName(key string) string { return strings.ReplaceAll(key, ".", "_") }

// maxSecretFile bounds what is read from a secret file: a secret is a line,
// and a path pointed at the wrong file (a log, /dev/zero) must not be slurped.
const maxSecretFile = 64 << 10

// readSecrets fills the secret keys. For each, in this order:
//  1. the value (flag > environment > file), or the contents of the file
//     named by key_file (flag > environment > file); setting both is an
//     error, as it is never clear which one was meant;
//  2. else the systemd credential CredentialName(key) in credDir, when
//     there is one;
//  3. else nothing (RequireAPIs reports what a command needs).
//
// A file's surrounding whitespace (the trailing newline an editor or echo
// adds) is dropped; a file must hold the secret alone, on one line.
func readSecrets(v *viper.Viper, root *yaml.Node, credDir string, cfg *Config, p *Errors) error {
	for _, f := range fields() {
		if !f.secret {
			continue
		}
		key, fileKey := f.path, FileKey(f.path)
		rawValue, _, err := lookup(v, root, key)
		if err != nil {
			return err
		}
		rawFile, _, err := lookup(v, root, fileKey)
		if err != nil {
			return err
		}
		value := asString(rawValue, key, p)
		file := asString(rawFile, fileKey, p)
		switch {
		case value != "" && file != "":
			p.add(fileKey, "is set together with %s; keep one (the _file form keeps the secret out of the configuration)", key)
			continue
		case file != "":
			s, problem := readSecretFile(file)
			if problem != "" {
				p.add(fileKey, "%s", problem)
				continue
			}
			value = s
			cfg.SecretFiles = append(cfg.SecretFiles, SecretFile{Path: file, Key: fileKey})
			p.setOrigin(key, "read from the file named by "+fileKey)
		case value == "" && credDir != "":
			path := filepath.Join(credDir, CredentialName(key))
			s, problem := readSecretFile(path)
			switch {
			case problem == errNoFile:
			case problem != "":
				p.add(key, "systemd credential %s: %s", CredentialName(key), problem)
				continue
			default:
				value = s
				p.setOrigin(key, "read from the systemd credential "+CredentialName(key))
			}
		}
		*f.stringIn(cfg) = value
	}
	if keys := secretKeysIn(root); len(keys) > 0 && cfg.File != "" {
		cfg.SecretFiles = append(cfg.SecretFiles, SecretFile{Path: cfg.File, Key: strings.Join(keys, ", ")})
	}
	return nil
}

const errNoFile = "the file does not exist"

// readSecretFile returns the secret a file holds, or a problem that names
// neither the path (the key does) nor the contents.
func readSecretFile(path string) (string, string) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", errNoFile
		}
		return "", "cannot read the file: " + unwrapPathError(err).Error()
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return "", "names a directory, not a file holding the secret"
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", "cannot read the file: " + unwrapPathError(err).Error()
	}
	if len(data) > maxSecretFile {
		return "", fmt.Sprintf("the file is larger than %d KiB; it must hold the secret alone", maxSecretFile>>10)
	}
	s := strings.TrimSpace(string(data))
	switch {
	case s == "":
		return "", "the file is empty"
	case strings.ContainsAny(s, "\r\n"):
		return "", "the file holds more than one line; it must hold the secret alone"
	}
	return s, ""
}

// secretKeysIn lists the secret keys the file itself sets.
func secretKeysIn(root *yaml.Node) []string {
	var out []string
	for _, key := range SecretKeys() {
		if n := node(root, key); n != nil && n.Kind == yaml.ScalarNode && strings.TrimSpace(n.Value) != "" && n.Tag != "!!null" {
			out = append(out, key)
		}
	}
	return out
}
