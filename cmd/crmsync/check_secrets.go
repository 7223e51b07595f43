package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/crmsync/crmsync/sync/config"
)

// checkSecretFiles warns about every file holding a secret that its group or
// others may read: the secret files named by *_file keys, and the
// configuration file when it holds a secret itself. A warning, not a
// failure: the file may sit in a directory nobody else can enter.
func checkSecretFiles(cfg *config.Config, rep *checkReport) {
	warned := false
	for _, f := range cfg.SecretFiles {
		st, err := os.Stat(f.Path)
		if err != nil {
			continue // it was just read; a race with its removal is not this check's business
		}
		mode := st.Mode().Perm()
		if mode&0o077 == 0 {
			continue
		}
		warned = true
		detail := fmt.Sprintf("%s (%s) is %s by %s (mode %04o)", f.Path, f.Key, access(mode), who(mode), mode)
		fix := "chmod 600 " + shellQuote(f.Path)
		if f.Path == cfg.File {
			detail = fmt.Sprintf("%s holds %s and is %s by %s (mode %04o)", f.Path, f.Key, access(mode), who(mode), mode)
			fix += "; or, where the file must stay readable (systemd's DynamicUser=), move the secret out: " +
				secretFileKeys(f.Key) + ", or a systemd credential (LoadCredential=)"
		}
		rep.add("secrets.permissions", checkWarn, detail, fix)
	}
	if !warned && len(cfg.SecretFiles) > 0 {
		rep.add("secrets.permissions", checkOK, "files holding secrets are readable by their owner only", "")
	}
}

// access says what a mode lets the group or others do: read the secret, or
// replace it with one of their own.
func access(mode os.FileMode) string {
	switch read, write := mode&0o044 != 0, mode&0o022 != 0; {
	case read && write:
		return "readable and writable"
	case write:
		return "writable"
	default:
		return "readable"
	}
}

// who names the classes a mode lets read or write besides the owner.
func who(mode os.FileMode) string {
	switch {
	case mode&0o070 != 0 && mode&0o007 != 0:
		return "its group and others"
	case mode&0o070 != 0:
		return "its group"
	default:
		return "others"
	}
}

// secretFileKeys turns "retailcrm.api_key, bitrix.webhook_url" into the
// _file keys to use instead.
func secretFileKeys(keys string) string {
	parts := strings.Split(keys, ", ")
	for i, k := range parts {
		parts[i] = config.FileKey(k)
	}
	return strings.Join(parts, ", ")
}

// shellQuote quotes a path for a command line when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@%,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
