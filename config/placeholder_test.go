package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// shownCredential is a credential value a shipped file shows.
type shownCredential struct{ key, value, file string }

// credentialKeys maps the names the shipped files give credentials
// (environment variables, Secret keys, zohosim flags) to their keys.
var credentialKeys = map[string]string{
	"ZOHOSINK_ZOHO_CLIENT_ID": "zoho.client_id", "ZOHOSINK_ZOHO_CLIENT_SECRET": "zoho.client_secret",
	"ZOHOSINK_ZOHO_REFRESH_TOKEN": "zoho.refresh_token", "ZOHOSINK_KAFKA_SASL_PASSWORD": "kafka.sasl.password",
	"client-id": "zoho.client_id", "client-secret": "zoho.client_secret", "refresh-token": "zoho.refresh_token",
}

var (
	// ZOHOSINK_ZOHO_CLIENT_SECRET=... (shell, README, --help examples).
	envAssignment = regexp.MustCompile(`\b(ZOHOSINK_ZOHO_CLIENT_ID|ZOHOSINK_ZOHO_CLIENT_SECRET|ZOHOSINK_ZOHO_REFRESH_TOKEN|ZOHOSINK_KAFKA_SASL_PASSWORD)=('[^']*'|"[^"]*"|[^\s'"` + "`" + `]+)`)
	// --from-literal=client-secret=... (kubectl) and --client-secret=... (zohosim).
	flagAssignment = regexp.MustCompile(`--(?:from-literal=)?(client-id|client-secret|refresh-token)=('[^']*'|"[^"]*"|[^\s'"` + "`" + `]+)`)
)

// shownCredentials returns every credential value the repository's shipped
// files (documentation, examples, manifests, compose files, the commands'
// help; not tests or test data) show: environment and flag assignments in
// any of them, and the zoho/kafka credentials and Secret stringData of every
// YAML document (a ConfigMap's embedded configuration files included).
func shownCredentials(t *testing.T) []shownCredential {
	t.Helper()
	var out []shownCredential
	root := ".."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if !slices.Contains([]string{".go", ".md", ".yaml", ".yml"}, ext) || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		file, _ := filepath.Rel(root, path)
		for _, re := range []*regexp.Regexp{envAssignment, flagAssignment} {
			for _, m := range re.FindAllStringSubmatch(string(data), -1) {
				out = append(out, shownCredential{credentialKeys[m[1]], strings.Trim(m[2], `'"`), file})
			}
		}
		if ext == ".yaml" || ext == ".yml" {
			out = append(out, yamlCredentials(t, file, data)...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// yamlCredentials returns the credentials of every document of a YAML file:
// a configuration's zoho.client_id, zoho.client_secret, zoho.refresh_token and
// kafka.sasl.password, a Secret's stringData, and those of the configuration
// files a ConfigMap holds.
func yamlCredentials(t *testing.T, file string, data []byte) []shownCredential {
	var out []shownCredential
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		str := func(m any, path ...string) string {
			for _, p := range path {
				mm, _ := m.(map[string]any)
				m = mm[p]
			}
			s, _ := m.(string)
			return s
		}
		for _, key := range placeholderKeys {
			if v := str(doc, strings.Split(key, ".")...); v != "" {
				out = append(out, shownCredential{key, v, file})
			}
		}
		switch doc["kind"] {
		case "Secret":
			sd, _ := doc["stringData"].(map[string]any)
			for name := range sd {
				if key := credentialKeys[name]; key != "" {
					out = append(out, shownCredential{key, str(sd, name), file})
				}
			}
		case "ConfigMap":
			cd, _ := doc["data"].(map[string]any)
			for name := range cd {
				if ext := filepath.Ext(name); ext == ".yaml" || ext == ".yml" {
					out = append(out, yamlCredentials(t, file+":"+name, []byte(str(cd, name)))...)
				}
			}
		}
	}
}

// TestPlaceholdersOfShippedExamples: every credential value a shipped file
// shows is refused by Validate for its key, naming the key and no other
// secret, except the compose simulator's demo credentials, which are refused
// only with Zoho's hosts; and every value of the placeholder lists is shown
// by some shipped file (the lists cannot drift from the files).
func TestPlaceholdersOfShippedExamples(t *testing.T) {
	shown := shownCredentials(t)
	if len(shown) < 10 {
		t.Fatalf("found only %d credentials in the shipped files: is the repository root at ..? %v", len(shown), shown)
	}
	listed := func(list []placeholder, v string) bool {
		return slices.ContainsFunc(list, func(p placeholder) bool { return p.value == v })
	}
	with := func(key, value string, simulator bool) *Config {
		c := validConfig()
		c.Kafka.SASL = KafkaSASL{Mechanism: SASLScramSHA512, Username: "zohosink", Password: "kafka-pass-9x"}
		if simulator {
			c.Zoho.APIDomain, c.Zoho.AccountsURL = "http://zohosim:8080", "http://zohosim:8080"
		}
		switch key {
		case "zoho.client_id":
			c.Zoho.ClientID = value
		case "zoho.client_secret":
			c.Zoho.ClientSecret = Secret(value)
		case "zoho.refresh_token":
			c.Zoho.RefreshToken = Secret(value)
		case "kafka.sasl.password":
			c.Kafka.SASL.Password = Secret(value)
		}
		return c
	}
	refused := func(c *Config, key string) bool {
		t.Helper()
		fes := FieldErrors(c.Validate())
		for _, fe := range fes {
			if !errors.Is(fe, ErrPlaceholder) || fe.Key != key {
				t.Errorf("%s: unexpected problem %v", key, fe)
			}
			for _, other := range []string{testSecret, testRefresh, "kafka-pass-9x"} {
				if strings.Contains(fe.Error(), other) {
					t.Errorf("%s: the problem shows a secret: %v", key, fe)
				}
			}
			if !strings.Contains(fe.Problem, "placeholder") {
				t.Errorf("%s: %q does not say it is a placeholder", key, fe.Problem)
			}
		}
		return len(fes) == 1
	}
	seen := map[string]bool{}
	for _, s := range shown {
		seen[s.value] = true
		demo := s.file == filepath.Join("deploy", "zohosink.yaml") || s.file == "docker-compose.yml"
		switch {
		case demo && !listed(composeDemoCredentials, s.value):
			t.Errorf("%s shows %s %q, which composeDemoCredentials lacks", s.file, s.key, s.value)
		case demo:
			if err := with(s.key, s.value, true).Validate(); err != nil {
				t.Errorf("%s: the compose demo %s is refused with the simulator's hosts: %v", s.file, s.key, err)
			}
			if !refused(with(s.key, s.value, false), s.key) {
				t.Errorf("%s: the compose demo %s is accepted with Zoho's hosts", s.file, s.key)
			}
		case !listed(examplePlaceholders, s.value):
			t.Errorf("%s shows %s %q, which examplePlaceholders lacks", s.file, s.key, s.value)
		default:
			for _, simulator := range []bool{false, true} {
				if !refused(with(s.key, s.value, simulator), s.key) {
					t.Errorf("%s: placeholder %s %q is accepted (simulator hosts: %v)", s.file, s.key, s.value, simulator)
				}
			}
			// Case and surrounding spaces do not matter.
			if !refused(with(s.key, " "+strings.ToUpper(s.value)+" ", false), s.key) {
				t.Errorf("%s: placeholder %s %q is accepted in upper case", s.file, s.key, s.value)
			}
		}
	}
	for _, list := range [][]placeholder{examplePlaceholders, composeDemoCredentials} {
		for _, p := range list {
			if !seen[p.value] {
				t.Errorf("placeholder %q is shown by no shipped file: remove it from the list", p.value)
			}
		}
	}
	// A real-looking value of the same shape is accepted.
	if err := with("zoho.client_secret", "3f1c9e0a7b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f", false).Validate(); err != nil {
		t.Errorf("a real client secret is refused: %v", err)
	}
}
