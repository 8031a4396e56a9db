package main

// Checks of the Kubernetes manifests of deploy/kubernetes: every manifest
// decodes strictly (an unknown or misspelt field is an error) into its
// k8s.io/api type, and the Deployment agrees with the binary: its arguments
// parse as `consumer` flags, its environment names configuration keys, its
// ConfigMap loads and validates, and its probes and ports are the ones the
// pipeline serves.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/wiring"
)

const (
	k8sBase = "../../deploy/kubernetes/base"
	k8sKEDA = "../../deploy/kubernetes/overlays/keda"
	// shutdownBound is how long the process may take to exit after SIGTERM
	// with default settings (DESIGN.md, "Decisions on edge cases").
	shutdownBound = 15 * time.Second
	// zohoHeavyConcurrency is Zoho's sub-concurrency limit of heavy calls
	// (upserts of more than 10 records) per org (zoho-crm-api.md, "Limits").
	zohoHeavyConcurrency = 10
)

// kustomization is the part of kustomize's Kustomization these manifests use.
type kustomization struct {
	metav1.TypeMeta `json:",inline"`
	Labels          []struct {
		Pairs            map[string]string `json:"pairs"`
		IncludeSelectors bool              `json:"includeSelectors"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Patches   []struct {
		Target struct {
			Group, Version, Kind, Name string
		} `json:"target"`
		Patch string `json:"patch"`
	} `json:"patches"`
}

// scaledObject is the part of KEDA's ScaledObject (keda.sh/v1alpha1) used here.
type scaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ScaleTargetRef struct {
			Name string `json:"name"`
		} `json:"scaleTargetRef"`
		MinReplicaCount int `json:"minReplicaCount"`
		MaxReplicaCount int `json:"maxReplicaCount"`
		PollingInterval int `json:"pollingInterval"`
		CooldownPeriod  int `json:"cooldownPeriod"`
		Triggers        []struct {
			Type     string            `json:"type"`
			Metadata map[string]string `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`
}

// manifests are the decoded objects of one kustomize directory (or build).
type manifests struct {
	deployments []appsv1.Deployment
	services    []corev1.Service
	configMaps  []corev1.ConfigMap
	secrets     []corev1.Secret
	pdbs        []policyv1.PodDisruptionBudget
	scaled      []scaledObject
	kustomize   []kustomization
}

// decodeStrict decodes one YAML document into v; unknown fields are errors.
func decodeStrict(doc []byte, v any) error {
	js, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// add decodes one document by its apiVersion and kind.
func (m *manifests) add(t *testing.T, where string, doc []byte) {
	t.Helper()
	var tm metav1.TypeMeta
	if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var err error
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		err = decodeStrict(doc, &d)
		m.deployments = append(m.deployments, d)
	case "v1 Service":
		var s corev1.Service
		err = decodeStrict(doc, &s)
		m.services = append(m.services, s)
	case "v1 ConfigMap":
		var c corev1.ConfigMap
		err = decodeStrict(doc, &c)
		m.configMaps = append(m.configMaps, c)
	case "v1 Secret":
		var s corev1.Secret
		err = decodeStrict(doc, &s)
		m.secrets = append(m.secrets, s)
	case "policy/v1 PodDisruptionBudget":
		var p policyv1.PodDisruptionBudget
		err = decodeStrict(doc, &p)
		m.pdbs = append(m.pdbs, p)
	case "keda.sh/v1alpha1 ScaledObject":
		var s scaledObject
		err = decodeStrict(doc, &s)
		m.scaled = append(m.scaled, s)
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		var k kustomization
		err = decodeStrict(doc, &k)
		m.kustomize = append(m.kustomize, k)
	default:
		t.Errorf("%s: unexpected %s %s", where, tm.APIVersion, tm.Kind)
	}
	if err != nil {
		t.Errorf("%s: %s does not decode strictly: %v", where, tm.Kind, err)
	}
}

// loadDir decodes every YAML file of dir (one object per file).
func loadDir(t *testing.T, dir string) (manifests, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", dir, err)
	}
	var m manifests
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m.add(t, f, data)
	}
	return m, files
}

// build runs `kubectl kustomize dir` and decodes its output, or skips
// without kubectl.
func build(t *testing.T, dir string) manifests {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not found: the kustomize build is not checked")
	}
	out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, out)
	}
	var m manifests
	for i, doc := range strings.Split(string(out), "\n---\n") {
		if strings.TrimSpace(doc) != "" {
			m.add(t, fmt.Sprintf("kubectl kustomize %s, document %d", dir, i+1), []byte(doc))
		}
	}
	return m
}

func TestKubernetesManifestsDecodeStrictly(t *testing.T) {
	m, files := loadDir(t, k8sBase)
	if len(m.deployments) != 1 || len(m.services) != 1 || len(m.configMaps) != 1 || len(m.secrets) != 1 || len(m.pdbs) != 1 || len(m.kustomize) != 1 {
		t.Fatalf("base: want one Deployment, Service, ConfigMap, Secret example, PodDisruptionBudget and Kustomization; have %d %d %d %d %d %d",
			len(m.deployments), len(m.services), len(m.configMaps), len(m.secrets), len(m.pdbs), len(m.kustomize))
	}
	// Every manifest but the Secret example is a resource of the base.
	for _, f := range files {
		name := filepath.Base(f)
		if name == "kustomization.yaml" || name == "secret.example.yaml" {
			continue
		}
		if !slices.Contains(m.kustomize[0].Resources, name) {
			t.Errorf("%s is not a resource of %s/kustomization.yaml", name, k8sBase)
		}
	}
	if slices.Contains(m.kustomize[0].Resources, "secret.example.yaml") {
		t.Errorf("the Secret example is applied: kubectl apply -k would overwrite real credentials")
	}
	checkBase(t, m, m.secrets[0])

	o, _ := loadDir(t, k8sKEDA)
	if len(o.scaled) != 1 || len(o.kustomize) != 1 {
		t.Fatalf("keda overlay: want a ScaledObject and a Kustomization")
	}
	if !slices.Contains(o.kustomize[0].Resources, "../../base") {
		t.Errorf("keda overlay resources %v do not include the base", o.kustomize[0].Resources)
	}

	t.Run("kustomize build", func(t *testing.T) {
		b := build(t, k8sBase)
		if len(b.deployments) != 1 || len(b.secrets) != 0 {
			t.Fatalf("base build: %d Deployments and %d Secrets, want 1 and 0", len(b.deployments), len(b.secrets))
		}
		checkBase(t, b, m.secrets[0])
		k := build(t, k8sKEDA)
		if len(k.deployments) != 1 || len(k.scaled) != 1 {
			t.Fatalf("keda build: %d Deployments and %d ScaledObjects, want 1 each", len(k.deployments), len(k.scaled))
		}
		if k.deployments[0].Spec.Replicas != nil {
			t.Errorf("keda build: the Deployment sets replicas %d; KEDA owns them", *k.deployments[0].Spec.Replicas)
		}
		cfg := checkBase(t, k, m.secrets[0])
		checkScaledObject(t, k.scaled[0], k.deployments[0], cfg)
	})
}

// checkBase checks the Deployment, Service, ConfigMap and PodDisruptionBudget
// of m against each other and against the binary, with secret standing in for
// the Secret; it returns the configuration the pods load.
func checkBase(t *testing.T, m manifests, secret corev1.Secret) *config.Config {
	t.Helper()
	d := m.deployments[0]
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("deployment %s: %d containers, want 1", d.Name, len(pod.Containers))
	}
	c := pod.Containers[0]

	// Not root, read-only root filesystem, no privilege escalation.
	if psc := pod.SecurityContext; psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod security context %+v: want runAsNonRoot and a non-zero runAsUser", psc)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container security context %+v: want a read-only root filesystem, no privilege escalation, all capabilities dropped", sc)
	}

	// Shutdown: the pod's grace covers the process's shutdown bound.
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= shutdownBound {
		t.Errorf("terminationGracePeriodSeconds %v: want more than the %v shutdown bound", g, shutdownBound)
	}

	// Memory: requested and limited; GOMEMLIMIT below the limit.
	limit, request := c.Resources.Limits.Memory(), c.Resources.Requests.Memory()
	if limit.IsZero() || request.IsZero() || request.Cmp(*limit) > 0 {
		t.Errorf("memory request %v, limit %v: want both, request <= limit", request, limit)
	}

	// Arguments: a `consumer` command line whose flags parse.
	root := newRootCommand()
	cmd, rest, err := root.Find(c.Args)
	if err != nil || cmd.Name() != "run" {
		t.Fatalf("args %v: not `consumer run` (%v)", c.Args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Fatalf("args %v: %v", c.Args, err)
	}
	configPath, _ := cmd.Flags().GetString("config")

	// The config file is the ConfigMap's key at the mount.
	cm := m.configMaps[0]
	var cmVolume string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			cmVolume = v.Name
		}
	}
	var cfgKey string
	for _, vm := range c.VolumeMounts {
		if vm.Name == cmVolume {
			if k, ok := strings.CutPrefix(configPath, vm.MountPath+"/"); ok {
				cfgKey = k
			}
		}
	}
	body, ok := cm.Data[cfgKey]
	if cfgKey == "" || !ok {
		t.Fatalf("--config %s is not a key of the mounted ConfigMap %s", configPath, cm.Name)
	}

	// Environment: ZOHOSINK_* names are configuration keys; the rest are Go's.
	envVars := map[string]bool{}
	for _, k := range config.Keys() {
		envVars[config.EnvVar(k)] = true
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, config.EnvPrefix) {
			t.Setenv(k, "") // empty counts as unset: only the manifests decide
		}
	}
	var goMemLimit string
	for _, e := range c.Env {
		switch {
		case strings.HasPrefix(e.Name, config.EnvPrefix):
			if !envVars[e.Name] {
				t.Errorf("env %s names no configuration key", e.Name)
			}
		case e.Name == "GOMEMLIMIT":
			goMemLimit = e.Value
		case e.Name != "GOMAXPROCS" && e.Name != "GOGC":
			t.Errorf("env %s is neither a configuration key nor a Go runtime setting", e.Name)
		}
		value := e.Value
		if e.ValueFrom != nil {
			ref := e.ValueFrom.SecretKeyRef
			if ref == nil || ref.Name != secret.Name {
				t.Errorf("env %s: want a value or a key of the Secret %s", e.Name, secret.Name)
				continue
			}
			v, ok := secret.StringData[ref.Key]
			if !ok {
				t.Errorf("env %s: the Secret %s has no key %q", e.Name, secret.Name, ref.Key)
			}
			value = v
		}
		t.Setenv(e.Name, value)
	}
	if q, err := resource.ParseQuantity(strings.TrimSuffix(goMemLimit, "B")); err != nil || q.Cmp(*limit) >= 0 {
		t.Errorf("GOMEMLIMIT %q: want a size below the memory limit %v", goMemLimit, limit)
	}

	// The configuration loads and validates, but for the Secret example's
	// credentials: they are placeholders, refused until replaced.
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	fes := config.FieldErrors(err)
	if cfg == nil || len(fes) == 0 {
		t.Fatalf("the ConfigMap's %s with the Secret example: %v; want its placeholder credentials refused", cfgKey, err)
	}
	for _, fe := range fes {
		if !errors.Is(fe, config.ErrPlaceholder) {
			t.Errorf("the ConfigMap's %s does not load: %v", cfgKey, fe)
		}
	}

	// The token cache is on a writable volume (the root filesystem is not).
	if dir := filepath.Dir(cfg.Zoho.TokenCacheFile); cfg.Zoho.TokenCacheFile != "" {
		writable := false
		for _, vm := range c.VolumeMounts {
			if vm.MountPath == dir && !vm.ReadOnly {
				writable = true
			}
		}
		if !writable {
			t.Errorf("zoho.token_cache_file %s is not on a writable volume mount", cfg.Zoho.TokenCacheFile)
		}
	}

	// Ports: http.listen is the container port the probes and the Service use.
	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil || (host != "0.0.0.0" && host != "") {
		t.Fatalf("http.listen %q: want all interfaces in a pod", cfg.HTTP.Listen)
	}
	var httpPort *corev1.ContainerPort
	for i, p := range c.Ports {
		if strconv.Itoa(int(p.ContainerPort)) == port {
			httpPort = &c.Ports[i]
		}
	}
	if httpPort == nil || httpPort.Name == "" {
		t.Fatalf("container ports %v: none is http.listen's %s, named", c.Ports, port)
	}
	for name, probe := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != name || probe.HTTPGet.Port.String() != httpPort.Name {
			t.Errorf("probe for %s: %+v, want httpGet %s on port %s", name, probe, name, httpPort.Name)
		}
	}
	if c.StartupProbe != nil {
		t.Errorf("a startup probe is not needed: /healthz answers at once")
	}
	// The pipeline serves those paths (and /metrics) on that listener.
	p, err := wiring.NewPipeline(cfg, zap.NewNop())
	if err != nil {
		t.Fatalf("the ConfigMap's configuration does not make a pipeline: %v", err)
	}
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusServiceUnavailable, "/metrics": http.StatusOK} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s before Run: %d, want %d", path, resp.StatusCode, want)
		}
	}

	// Service and PodDisruptionBudget select the pods; the Service exposes
	// the metrics port, not-ready pods included.
	podLabels := d.Spec.Template.Labels
	matches := func(sel map[string]string) bool {
		for k, v := range sel {
			if podLabels[k] != v {
				return false
			}
		}
		return len(sel) > 0
	}
	if !matches(d.Spec.Selector.MatchLabels) {
		t.Errorf("deployment selector %v does not match the pod labels %v", d.Spec.Selector.MatchLabels, podLabels)
	}
	svc := m.services[0]
	if !matches(svc.Spec.Selector) || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("service %s: selector %v, publishNotReadyAddresses %v; want the pods, not-ready ones too", svc.Name, svc.Spec.Selector, svc.Spec.PublishNotReadyAddresses)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != httpPort.Name || strconv.Itoa(int(svc.Spec.Ports[0].Port)) != port {
		t.Errorf("service %s ports %+v: want port %s to the container port %s", svc.Name, svc.Spec.Ports, port, httpPort.Name)
	}
	if svc.Annotations["prometheus.io/port"] != port || svc.Annotations["prometheus.io/path"] != "/metrics" {
		t.Errorf("service %s: scrape annotations %v, want port %s and /metrics", svc.Name, svc.Annotations, port)
	}
	pdb := m.pdbs[0]
	if pdb.Spec.Selector == nil || !matches(pdb.Spec.Selector.MatchLabels) || (pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil) {
		t.Errorf("pdb %s: %+v, want the pods' selector and a budget", pdb.Name, pdb.Spec)
	}
	return cfg
}

// checkScaledObject: KEDA scales the Deployment on the lag of the group the
// pods consume as, on the brokers and topic they use, to no more replicas than
// the topic has partitions and Zoho has concurrent heavy calls for.
func checkScaledObject(t *testing.T, so scaledObject, d appsv1.Deployment, cfg *config.Config) {
	t.Helper()
	if so.Spec.ScaleTargetRef.Name != d.Name {
		t.Errorf("ScaledObject targets %q, want the Deployment %q", so.Spec.ScaleTargetRef.Name, d.Name)
	}
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "kafka" {
		t.Fatalf("ScaledObject triggers %+v: want one kafka trigger", so.Spec.Triggers)
	}
	md := so.Spec.Triggers[0].Metadata
	if md["bootstrapServers"] != strings.Join(cfg.Kafka.Brokers, ",") || md["consumerGroup"] != cfg.Kafka.Group || !slices.Contains(cfg.Kafka.Topics, md["topic"]) {
		t.Errorf("kafka trigger %v: want brokers %v, group %q and a topic of %v", md, cfg.Kafka.Brokers, cfg.Kafka.Group, cfg.Kafka.Topics)
	}
	if n, err := strconv.Atoi(md["lagThreshold"]); err != nil || n < 1 {
		t.Errorf("kafka trigger lagThreshold %q: want a positive number", md["lagThreshold"])
	}
	if so.Spec.MinReplicaCount < 1 || so.Spec.MaxReplicaCount < so.Spec.MinReplicaCount {
		t.Errorf("replicas %d..%d: want 1 <= min <= max", so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount)
	}
	if parts := composePartitions(t, md["topic"]); so.Spec.MaxReplicaCount > parts {
		t.Errorf("maxReplicaCount %d exceeds the %d partitions of %s: members beyond them idle", so.Spec.MaxReplicaCount, parts, md["topic"])
	}
	if calls := so.Spec.MaxReplicaCount * cfg.Delivery.MaxInFlight; calls > zohoHeavyConcurrency {
		t.Errorf("maxReplicaCount %d × delivery.max_in_flight %d = %d concurrent upserts, over Zoho's %d", so.Spec.MaxReplicaCount, cfg.Delivery.MaxInFlight, calls, zohoHeavyConcurrency)
	}
}

// composePartitions is the partition count docker-compose's kafka-init gives topic.
func composePartitions(t *testing.T, topic string) int {
	t.Helper()
	data, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range c.Services["kafka-init"].Command {
		for _, line := range strings.Split(cmd, "\n") {
			f := strings.Fields(line)
			if i := slices.Index(f, "--topic"); i >= 0 && i+1 < len(f) && f[i+1] == topic {
				if j := slices.Index(f, "--partitions"); j >= 0 && j+1 < len(f) {
					n, err := strconv.Atoi(f[j+1])
					if err == nil {
						return n
					}
				}
			}
		}
	}
	t.Fatalf("docker-compose.yml's kafka-init creates no topic %s with --partitions", topic)
	return 0
}
