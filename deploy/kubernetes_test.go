package deploy

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/serve"
)

// k8sObjects reads every document of a manifest file by kind.
func k8sObjects(t *testing.T, file string) map[string]map[string]any {
	t.Helper()
	f, err := os.Open(filepath.Join("kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs := map[string]map[string]any{}
	dec := yaml.NewDecoder(f)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		kind, _ := doc["kind"].(string)
		if kind == "" || doc["apiVersion"] == nil || dig(doc, "metadata", "name") == nil {
			t.Fatalf("%s: a document without kind, apiVersion or name: %v", file, doc)
		}
		objs[kind] = doc
	}
	return objs
}

// dig follows map keys and list indexes (ints) through a decoded document.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestServeDeployment checks the facts the serve Deployment rests on: one
// process per database (one replica, Recreate), the database on a claim,
// the secrets as files named by the _file keys, the probes on /healthz,
// Prometheus's scrape annotations and a Service in front.
func TestServeDeployment(t *testing.T) {
	t.Parallel()
	objs := k8sObjects(t, "deployment.yaml")
	for _, kind := range []string{"Secret", "ConfigMap", "PersistentVolumeClaim", "Deployment"} {
		if objs[kind] == nil {
			t.Fatalf("deployment.yaml has no %s", kind)
		}
	}
	d := objs["Deployment"]
	if r := dig(d, "spec", "replicas"); r != 1 {
		t.Errorf("replicas %v, want 1: one process per database", r)
	}
	if s := dig(d, "spec", "strategy", "type"); s != "Recreate" {
		t.Errorf("strategy %v, want Recreate: the old pod must let go of the database first", s)
	}
	pod := dig(d, "spec", "template")
	if dig(pod, "spec", "automountServiceAccountToken") != false || dig(pod, "spec", "securityContext", "runAsNonRoot") != true ||
		dig(pod, "spec", "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Errorf("pod security: %v", dig(pod, "spec"))
	}
	ann := dig(pod, "metadata", "annotations")
	if dig(ann, "prometheus.io/scrape") != "true" || dig(ann, "prometheus.io/port") != "8080" || dig(ann, "prometheus.io/path") != "/metrics" {
		t.Errorf("scrape annotations: %v", ann)
	}
	c := dig(pod, "spec", "containers", 0)
	var args []string
	for _, a := range dig(c, "args").([]any) {
		args = append(args, a.(string))
	}
	if got := strings.Join(args, " "); got != "--config /etc/crmsync/crmsync.yaml --db /data/crmsync.db --log-format json serve --listen :8080" {
		t.Errorf("command line: %s", got)
	}
	if !strings.Contains(dig(c, "image").(string), "@sha256:") {
		t.Errorf("image %v is not pinned by digest", dig(c, "image"))
	}
	// A failed run makes /healthz 503; restarting the pod for that would
	// cure nothing, so liveness only checks that serve answers.
	if dig(c, "livenessProbe", "tcpSocket", "port") != "http" || dig(c, "livenessProbe", "httpGet") != nil {
		t.Errorf("livenessProbe: %v", dig(c, "livenessProbe"))
	}
	if dig(c, "readinessProbe", "httpGet", "path") != "/healthz" || dig(c, "readinessProbe", "httpGet", "port") != "http" {
		t.Errorf("readinessProbe: %v", dig(c, "readinessProbe"))
	}
	if dig(c, "ports", 0, "containerPort") != 8080 || dig(c, "ports", 0, "name") != "http" {
		t.Errorf("ports: %v", dig(c, "ports"))
	}
	if dig(c, "securityContext", "readOnlyRootFilesystem") != true || dig(c, "securityContext", "allowPrivilegeEscalation") != false {
		t.Errorf("container security: %v", dig(c, "securityContext"))
	}
	mounts := map[string]string{}
	for _, m := range dig(c, "volumeMounts").([]any) {
		mounts[dig(m, "name").(string)] = dig(m, "mountPath").(string)
	}
	volumes := map[string]any{}
	for _, v := range dig(pod, "spec", "volumes").([]any) {
		volumes[dig(v, "name").(string)] = v
	}
	if mounts["data"] != "/data" || dig(volumes["data"], "persistentVolumeClaim", "claimName") != dig(objs["PersistentVolumeClaim"], "metadata", "name") {
		t.Errorf("the database is not on the claim: %v %v", mounts, volumes["data"])
	}
	if dig(volumes["secrets"], "secret", "secretName") != dig(objs["Secret"], "metadata", "name") || dig(c, "env") != nil || dig(c, "envFrom") != nil {
		t.Errorf("the secrets are not a mounted Secret (or come from the environment too): %v", volumes["secrets"])
	}

	// The configuration is one crmsync reads: known keys, and every secret
	// from a file of the mounted Secret.
	body, _ := dig(objs["ConfigMap"], "data", "crmsync.yaml").(string)
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatalf("crmsync.yaml in the ConfigMap: %v", err)
	}
	keys := flatKeys("", cfg)
	secretData, _ := dig(objs["Secret"], "stringData").(map[string]any)
	for _, secret := range config.SecretKeys() {
		file, _ := dig(cfg, strings.Split(config.FileKey(secret), ".")[0], strings.Split(config.FileKey(secret), ".")[1]).(string)
		name, ok := strings.CutPrefix(file, mounts["secrets"]+"/")
		if !ok || secretData[name] == nil {
			t.Errorf("%s: %q is not a file of the mounted Secret (%v)", config.FileKey(secret), file, secretData)
		}
		if slices.Contains(keys, secret) {
			t.Errorf("the ConfigMap holds the secret %s itself", secret)
		}
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "mapping.") && !slices.Contains(config.Keys(), k) {
			t.Errorf("the ConfigMap's crmsync.yaml has the unknown key %s", k)
		}
	}

	svc := k8sObjects(t, "service.yaml")["Service"]
	if svc == nil {
		t.Fatal("service.yaml has no Service")
	}
	if dig(svc, "spec", "ports", 0, "targetPort") != "http" {
		t.Errorf("service ports: %v", dig(svc, "spec", "ports"))
	}
	sel, _ := dig(svc, "spec", "selector").(map[string]any)
	labels, _ := dig(pod, "metadata", "labels").(map[string]any)
	if len(sel) == 0 {
		t.Error("the Service selects nothing")
	}
	for k, v := range sel {
		if labels[k] != v {
			t.Errorf("the Service selects %s=%v, which the pod lacks (%v)", k, v, labels)
		}
	}
}

// flatKeys lists the dotted paths of a YAML document's scalar and list values.
func flatKeys(prefix string, m map[string]any) []string {
	var out []string
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			out = append(out, flatKeys(prefix+k+".", sub)...)
			continue
		}
		out = append(out, prefix+k)
	}
	return out
}

// stopMargin is what serve needs past its grace on SIGTERM: the run cut
// short at the grace returns at its next safe point (its request's context
// ends), the database closes and the process exits. The HTTP server's own
// shutdown (5 s) runs alongside the run's, not after it.
const stopMargin = 10 * time.Second

// systemdSeconds reads a systemd time span as the stop timeouts write it:
// "90", "90s", "1min 30s".
func systemdSeconds(t *testing.T, v string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(strings.NewReplacer("min", "m", " ", "").Replace(v))
	if err != nil {
		t.Fatalf("time span %q: %v", v, err)
	}
	return d
}

// TestStopTimeoutsCoverServesGrace: on SIGTERM serve lets the run in
// progress finish its page for up to serve.DefaultGrace, then cancels it;
// systemd (TimeoutStopSec) and Kubernetes (terminationGracePeriodSeconds)
// must wait longer than that before SIGKILL, or a slow page is killed
// mid-write instead of stopped at a safe point.
func TestStopTimeoutsCoverServesGrace(t *testing.T) {
	t.Parallel()
	need := serve.DefaultGrace + stopMargin

	unit, err := os.ReadFile(filepath.Join("systemd", "crmsync-serve.service"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Timeout(?:Stop)?Sec=(.+)$`).FindAllStringSubmatch(string(unit), -1)
	if len(m) != 1 {
		t.Fatalf("crmsync-serve.service: want one TimeoutStopSec=, found %v", m)
	}
	if got := systemdSeconds(t, strings.TrimSpace(m[0][1])); got < need {
		t.Errorf("crmsync-serve.service: TimeoutStopSec=%v, want at least %v (serve's grace %v + %v)", got, need, serve.DefaultGrace, stopMargin)
	}

	pod := dig(k8sObjects(t, "deployment.yaml")["Deployment"], "spec", "template", "spec")
	grace, ok := dig(pod, "terminationGracePeriodSeconds").(int)
	if !ok {
		t.Fatalf("deployment.yaml: no terminationGracePeriodSeconds (Kubernetes' default, 30 s, is shorter than serve's grace %v)", serve.DefaultGrace)
	}
	if got := time.Duration(grace) * time.Second; got < need {
		t.Errorf("deployment.yaml: terminationGracePeriodSeconds %d, want at least %v (serve's grace %v + %v)", grace, need.Seconds(), serve.DefaultGrace, stopMargin)
	}
	// A preStop hook would spend the same budget before SIGTERM.
	if h := dig(pod, "containers", 0, "lifecycle", "preStop"); h != nil {
		t.Errorf("deployment.yaml: a preStop hook (%v) eats into terminationGracePeriodSeconds; count it in", h)
	}
}
