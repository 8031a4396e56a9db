package zohosink

// Checks of the Docker assets (docker-compose.yml, deploy/, Dockerfile). No
// Docker engine is needed: the files are parsed and cross-checked, so a typo
// in a key, a mount of a missing file, a port that does not line up or a
// Prometheus target that misses zohosink fails here rather than on a user's
// machine.

import (
	"bytes"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/zohosink/zohosink/config"
)

// composeFile is the part of the Compose specification this stack uses;
// decoding with KnownFields rejects any other (misspelt) key.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"` // "context" or {context, dockerfile}
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   yaml.Node         `yaml:"depends_on"` // list or map of service → condition
	Healthcheck map[string]any    `yaml:"healthcheck"`
	Restart     string            `yaml:"restart"`
	PullPolicy  string            `yaml:"pull_policy"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var c composeFile
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// dependsOn returns the services s waits for, from either form of depends_on.
func (s composeService) dependsOn(t *testing.T) []string {
	t.Helper()
	switch s.DependsOn.Kind {
	case 0:
		return nil
	case yaml.SequenceNode:
		var list []string
		if err := s.DependsOn.Decode(&list); err != nil {
			t.Fatalf("depends_on: %v", err)
		}
		return list
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := s.DependsOn.Decode(&m); err != nil {
			t.Fatalf("depends_on: %v", err)
		}
		var names []string
		for name, d := range m {
			if !slices.Contains([]string{"service_started", "service_healthy", "service_completed_successfully"}, d.Condition) {
				t.Errorf("depends_on %s: unknown condition %q", name, d.Condition)
			}
			names = append(names, name)
		}
		return names
	default:
		t.Fatalf("depends_on is neither a list nor a map")
		return nil
	}
}

// buildContext returns the build context of s ("" when it has none).
func (s composeService) buildContext(t *testing.T) (context, dockerfile string) {
	t.Helper()
	switch b := s.Build.(type) {
	case nil:
		return "", ""
	case string:
		return b, "Dockerfile"
	case map[string]any:
		ctx, _ := b["context"].(string)
		df, _ := b["dockerfile"].(string)
		if df == "" {
			df = "Dockerfile"
		}
		return ctx, df
	default:
		t.Fatalf("build has type %T", s.Build)
		return "", ""
	}
}

// hostFile returns the repository path mounted at target by a bind mount of s.
func (s composeService) hostFile(target string) (string, bool) {
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target && strings.HasPrefix(parts[0], "./") {
			return filepath.FromSlash(parts[0]), true
		}
	}
	return "", false
}

// flagValue returns the value of --name=value or --name value in args.
func flagValue(args []string, name string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

var portPair = regexp.MustCompile(`^(\d{1,5}):(\d{1,5})$`)

// publishes reports whether s publishes container port p on the same host port.
func (s composeService) publishes(p string) bool {
	return slices.Contains(s.Ports, p+":"+p)
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, want := range []string{"kafka", "prometheus", "zohosim", "zohosink"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("service %q missing (have %v)", want, names)
		}
	}
	hostPorts := map[string]string{}
	for _, name := range names {
		s := c.Services[name]
		ctx, df := s.buildContext(t)
		if s.Image == "" && ctx == "" {
			t.Errorf("service %s has neither image nor build", name)
		}
		if ctx != "" {
			if _, err := os.Stat(filepath.Join(ctx, df)); err != nil {
				t.Errorf("service %s builds from %s: %v", name, filepath.Join(ctx, df), err)
			}
		}
		for _, d := range s.dependsOn(t) {
			if _, ok := c.Services[d]; !ok {
				t.Errorf("service %s depends on unknown service %q", name, d)
			}
		}
		for _, p := range s.Ports {
			m := portPair.FindStringSubmatch(p)
			if m == nil {
				t.Errorf("service %s: port %q is not HOST:CONTAINER", name, p)
				continue
			}
			if other, dup := hostPorts[m[1]]; dup {
				t.Errorf("host port %s published by both %s and %s", m[1], other, name)
			}
			hostPorts[m[1]] = name
		}
		for _, v := range s.Volumes {
			if host, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(host, "./") {
				if _, err := os.Stat(filepath.FromSlash(host)); err != nil {
					t.Errorf("service %s mounts %s: %v", name, host, err)
				}
			}
		}
	}
	// Both binaries come from this repository's image, built once: by the
	// zohosink service; zohosim runs that image and never pulls or builds it.
	zs, sim := c.Services["zohosink"], c.Services["zohosim"]
	if ctx, _ := zs.buildContext(t); ctx != "." || zs.Image == "" {
		t.Errorf("service zohosink: build context %q, image %q; want \".\" (this repository's Dockerfile) and an image name", ctx, zs.Image)
	}
	for _, name := range names {
		if s := c.Services[name]; name != "zohosink" && s.Build != nil {
			t.Errorf("service %s builds an image too: only zohosink builds (the image is built once)", name)
		}
	}
	if sim.Image != zs.Image || sim.PullPolicy != "never" {
		t.Errorf("service zohosim: image %q, pull_policy %q; want zohosink's image %q and pull_policy never", sim.Image, sim.PullPolicy, zs.Image)
	}
	if e := c.Services["zohosim"].Entrypoint; len(e) == 0 || filepath.Base(e[0]) != "zohosim" {
		t.Errorf("service zohosim: entrypoint %v, want the zohosim binary", e)
	}
}

// TestComposeZohosinkConfig: zohosink runs `consumer run --config FILE` with a
// mounted file that exists and loads without a problem, reaches the broker
// and the simulator by their service names, and serves /metrics on a port the
// stack publishes.
func TestComposeZohosinkConfig(t *testing.T) {
	c := loadCompose(t)
	zs := c.Services["zohosink"]
	if len(zs.Command) < 1 || zs.Command[0] != "run" {
		t.Fatalf("zohosink command %v, want run --config FILE", zs.Command)
	}
	target, ok := flagValue(zs.Command, "config")
	if !ok {
		t.Fatalf("zohosink command %v has no --config", zs.Command)
	}
	file, ok := zs.hostFile(target)
	if !ok {
		t.Fatalf("zohosink: no bind mount of a repository file at %s (volumes %v)", target, zs.Volumes)
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "ZOHOSINK_") {
			t.Setenv(k, "") // empty counts as unset: only the file decides
		}
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatalf("%s does not load: %v", file, err)
	}

	kafka := c.Services["kafka"]
	advertised := kafka.Environment["KAFKA_ADVERTISED_LISTENERS"]
	for _, b := range cfg.Kafka.Brokers {
		if !strings.Contains(advertised, "://"+b) {
			t.Errorf("kafka.brokers %q is not an advertised listener of the kafka service (%s)", b, advertised)
		}
	}

	sim := c.Services["zohosim"]
	listen, ok := flagValue(sim.Command, "listen")
	if !ok {
		t.Fatalf("zohosim command %v has no --listen", sim.Command)
	}
	_, simPort, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("zohosim --listen %q: %v", listen, err)
	}
	for key, raw := range map[string]string{"zoho.api_domain": cfg.Zoho.APIDomain, "zoho.accounts_url": cfg.Zoho.AccountsURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() != "zohosim" || u.Port() != simPort {
			t.Errorf("%s = %q, want a URL of the zohosim service on port %s", key, raw, simPort)
		}
	}
	for flag, want := range map[string]string{
		"client-id":     cfg.Zoho.ClientID,
		"client-secret": cfg.Zoho.ClientSecret.Value(),
		"refresh-token": cfg.Zoho.RefreshToken.Value(),
	} {
		if got, _ := flagValue(sim.Command, flag); got != want {
			t.Errorf("zohosim --%s differs from the zoho.* credential in %s", flag, file)
		}
	}

	host, port, err := net.SplitHostPort(cfg.HTTP.Listen)
	if err != nil {
		t.Fatalf("http.listen %q: %v", cfg.HTTP.Listen, err)
	}
	if host != "0.0.0.0" && host != "" {
		t.Errorf("http.listen %q: in a container it must listen on all interfaces", cfg.HTTP.Listen)
	}
	if !zs.publishes(port) {
		t.Errorf("zohosink does not publish its http.listen port %s (ports %v)", port, zs.Ports)
	}
}

func TestComposePrometheusScrapesZohosink(t *testing.T) {
	c := loadCompose(t)
	prom := c.Services["prometheus"]
	file, ok := prom.hostFile("/etc/prometheus/prometheus.yml")
	if !ok {
		t.Fatalf("prometheus: no bind mount at /etc/prometheus/prometheus.yml (volumes %v)", prom.Volumes)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var pc struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &pc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}

	zsFile, _ := c.Services["zohosink"].hostFile("/etc/zohosink/config.yaml")
	raw, err := os.ReadFile(zsFile)
	if err != nil {
		t.Fatal(err)
	}
	var zc struct {
		HTTP struct {
			Listen string `yaml:"listen"`
		} `yaml:"http"`
	}
	if err := yaml.Unmarshal(raw, &zc); err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(zc.HTTP.Listen)
	if err != nil {
		t.Fatalf("http.listen %q: %v", zc.HTTP.Listen, err)
	}
	want := net.JoinHostPort("zohosink", port)
	for _, sc := range pc.ScrapeConfigs {
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			continue
		}
		for _, st := range sc.StaticConfigs {
			if slices.Contains(st.Targets, want) {
				return
			}
		}
	}
	t.Errorf("%s: no scrape job targets %s/metrics", file, want)
}

// TestDockerfile: multi-stage build on Go 1.26, static binaries of both
// commands, a final image that is distroless/static or scratch and not root.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var user string
	text := string(data)
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			user = f[1]
		}
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[0], "golang:1.26") {
		t.Errorf("stages %v: want a golang:1.26 build stage and a final stage", froms)
	}
	if final := froms[len(froms)-1]; !strings.Contains(final, "distroless/static") && final != "scratch" {
		t.Errorf("final stage %s: want distroless/static or scratch", final)
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("USER %q: the image must not run as root", user)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/consumer", "./cmd/zohosim"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile does not mention %s", want)
		}
	}
}

// TestComposeGrafanaProvisionsDashboard: the grafana service loads the
// datasource and dashboard provisioning of deploy/grafana; the datasource is
// the prometheus service, under the uid every dashboard panel names; the
// provider reads the folder the dashboards are mounted at.
func TestComposeGrafanaProvisionsDashboard(t *testing.T) {
	c := loadCompose(t)
	g, ok := c.Services["grafana"]
	if !ok {
		t.Fatal("no grafana service")
	}
	prov, ok := g.hostFile("/etc/grafana/provisioning")
	if !ok {
		t.Fatalf("grafana: no bind mount at /etc/grafana/provisioning (volumes %v)", g.Volumes)
	}
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(prov, "datasources", "prometheus.yml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasources %+v: want the prometheus service at http://prometheus:9090", ds.Datasources)
	}
	if !c.Services["prometheus"].publishes("9090") {
		t.Errorf("the prometheus service does not listen on 9090")
	}
	uid := ds.Datasources[0].UID
	var dp struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(prov, "dashboards", "zohosink.yml"), &dp)
	if len(dp.Providers) != 1 || dp.Providers[0].Type != "file" {
		t.Fatalf("dashboard providers %+v: want one file provider", dp.Providers)
	}
	dir, ok := g.hostFile(dp.Providers[0].Options.Path)
	if !ok {
		t.Fatalf("grafana: the provider reads %s, which mounts no repository folder (volumes %v)", dp.Providers[0].Options.Path, g.Volumes)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatalf("no dashboard in %s", dir)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title      string `json:"title"`
				Datasource struct {
					UID string `json:"uid"`
				} `json:"datasource"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if d.UID == "" || len(d.Panels) == 0 {
			t.Errorf("%s: no uid or no panels", f)
		}
		for _, p := range d.Panels {
			if p.Datasource.UID != uid || len(p.Targets) == 0 {
				t.Errorf("%s: panel %q: datasource %q with %d targets, want %q and at least one", f, p.Title, p.Datasource.UID, len(p.Targets), uid)
			}
		}
	}
}

// TestComposePrometheusLoadsAlerts: the prometheus service evaluates the rule
// files its configuration names, and each is a mounted repository file.
func TestComposePrometheusLoadsAlerts(t *testing.T) {
	c := loadCompose(t)
	prom := c.Services["prometheus"]
	file, _ := prom.hostFile("/etc/prometheus/prometheus.yml")
	var pc struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	readYAML(t, file, &pc)
	if len(pc.RuleFiles) == 0 {
		t.Fatalf("%s has no rule_files", file)
	}
	for _, rf := range pc.RuleFiles {
		host, ok := prom.hostFile(rf)
		if !ok {
			t.Errorf("rule file %s is not a bind mount of a repository file (volumes %v)", rf, prom.Volumes)
			continue
		}
		if host != filepath.FromSlash("./deploy/prometheus/alerts.yml") && host != filepath.FromSlash("deploy/prometheus/alerts.yml") {
			t.Errorf("rule file %s comes from %s, want deploy/prometheus/alerts.yml", rf, host)
		}
	}
}

// TestDockerignore: the build context leaves out what the image does not need
// (VCS data, build output, local caches) and keeps what the build reads.
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(".dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	ignored := func(path string) bool {
		out := false
		for _, p := range patterns {
			neg := strings.HasPrefix(p, "!")
			p = strings.TrimPrefix(strings.TrimPrefix(p, "!"), "/")
			for dir := path; dir != "."; dir = filepath.Dir(dir) {
				if ok, _ := filepath.Match(p, dir); ok {
					out = !neg
					break
				}
			}
		}
		return out
	}
	for _, p := range []string{".git", "bin/consumer", ".cache/x", "consumer", "zohosim"} {
		if !ignored(p) {
			t.Errorf(".dockerignore does not leave out %s", p)
		}
	}
	for _, p := range []string{"go.mod", "go.sum", "cmd/consumer/main.go", "pipeline/pipeline.go", "testdata/demo-events.ndjson", "embed.go", "Dockerfile"} {
		if ignored(p) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", p)
		}
	}
}

func readYAML(t *testing.T, file string, v any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}
