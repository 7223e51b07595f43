// Package deploy holds the units and manifests that run crmsync on a
// schedule; this test checks them with the tools that read them.
package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnitsVerify runs systemd-analyze verify on every unit, with the
// binary path pointed at a stand-in executable. Skipped where systemd's
// tools are not installed.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "crmsync")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	units, err := filepath.Glob(filepath.Join("systemd", "*"))
	if err != nil || len(units) < 8 {
		t.Fatalf("units: %v %v", units, err)
	}
	var names []string
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/usr/local/bin/crmsync", bin)
		name := filepath.Base(u)
		// A template is verified as an instance.
		name = strings.Replace(name, "@.", "@shop1.", 1)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Join(dir, name))
	}
	for _, n := range names {
		cmd := exec.Command(analyze, "verify", "--man=no", n)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(n), err, out)
		}
	}
}

// TestUnitsAreHardened checks the options the issue asks every service for.
func TestUnitsAreHardened(t *testing.T) {
	t.Parallel()
	services, _ := filepath.Glob(filepath.Join("systemd", "*.service"))
	if len(services) != 4 {
		t.Fatalf("services: %v", services)
	}
	for _, s := range services {
		data, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"DynamicUser=yes", "StateDirectory=crmsync", "ProtectSystem=strict", "NoNewPrivileges=yes", "Type=oneshot", "SuccessExitStatus=3 5"} {
			if !strings.Contains(string(data), want) {
				t.Errorf("%s lacks %s", s, want)
			}
		}
	}
	timers, _ := filepath.Glob(filepath.Join("systemd", "*.timer"))
	for _, tm := range timers {
		data, _ := os.ReadFile(tm)
		if !strings.Contains(string(data), "Persistent=true") {
			t.Errorf("%s lacks Persistent=true", tm)
		}
	}
	k8s, err := os.ReadFile(filepath.Join("kubernetes", "cronjob.yaml"))
	if err != nil || strings.Count(string(k8s), "\n  concurrencyPolicy: Forbid\n") != 2 {
		t.Errorf("cronjob.yaml: %v", err)
	}
}
