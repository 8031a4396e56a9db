//go:build contract

package contract_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment variables the Makefile's test-contract target sets: the Python
// interpreter of the virtualenv holding the pinned Python SDK, and the node
// binary that runs node/contract.mjs (with the pinned Node SDK installed in
// node/node_modules).
const (
	EnvPython = "ZOHOSINK_CONTRACT_PYTHON"
	EnvNode   = "ZOHOSINK_CONTRACT_NODE"
)

// Cases are the cases every SDK script reports, in its order, one
// "PASS <case>" or "FAIL <case>: why" line each.
var Cases = []string{
	"grant-code exchange",
	"refresh-token grant",
	"upsert valid records",
	"upsert mixed batch",
	"upsert same-email update",
	"upsert 101 records",
	"fields metadata Leads",
	"fields metadata Contacts",
	"layouts Leads",
}

// Self Client credentials of the simulator processes (simulator values, not
// secrets), and the scope the SDKs need: modules, fields metadata, and the
// users and org look-up they make after minting a token.
const (
	clientID     = "1000.CONTRACTTEST"
	clientSecret = "contract-test-secret"
	refreshToken = "1000.contract.refresh"
	scope        = "ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.settings.layouts.READ,ZohoCRM.users.READ,ZohoCRM.org.READ"
)

func TestPythonSDK(t *testing.T) {
	runSDK(t, "Python SDK v8 (zohocrmsdk8-0)", runtimeFor(t, EnvPython, "python3 with the venv module (apt: python3-venv)", ""), "python/contract.py")
}

func TestNodeSDK(t *testing.T) {
	runSDK(t, "Node.js SDK v8 (@zohocrm/nodejs-sdk-8.0)", runtimeFor(t, EnvNode, "node and npm", "node/node_modules/@zohocrm/nodejs-sdk-8.0"), "node/contract.mjs")
}

// runtimeFor returns the interpreter named by env. When it is unset (or
// installed says the SDK is missing) the test skips saying what to install;
// with CI=true it fails instead.
func runtimeFor(t *testing.T, env, what, installed string) string {
	t.Helper()
	bin := os.Getenv(env)
	missing := ""
	switch {
	case bin == "":
		missing = fmt.Sprintf("%s is not set: run `make test-contract` (it needs %s)", env, what)
	case installed != "":
		if _, err := os.Stat(installed); err != nil {
			missing = fmt.Sprintf("%s is not installed (run `make test-contract`): %v", installed, err)
		}
	}
	if missing == "" {
		return bin
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and the contract test cannot run: %s", missing)
	}
	t.Skipf("contract test skipped: %s", missing)
	return ""
}

// runSDK starts a fresh zohosim, runs one SDK script against it and reports
// each case as a subtest.
func runSDK(t *testing.T, name, interpreter, script string) {
	url := startSim(t)
	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, interpreter, script)
	cmd.Env = append(os.Environ(),
		"ZOHOSIM_URL="+url,
		"ZOHOSIM_CLIENT_ID="+clientID,
		"ZOHOSIM_CLIENT_SECRET="+clientSecret,
		"ZOHOSIM_REFRESH_TOKEN="+refreshToken,
		"ZOHOSIM_GRANT_CODE="+grantCode(t, url),
		"ZOHOSIM_WORKDIR="+work,
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	results := map[string]string{} // case → "" (pass) or why it failed
	for _, line := range strings.Split(string(out), "\n") {
		if c, ok := strings.CutPrefix(line, "PASS "); ok {
			results[c] = ""
		} else if c, ok := strings.CutPrefix(line, "FAIL "); ok {
			c, why, _ := strings.Cut(c, ": ")
			results[c] = "FAIL: " + why
		}
	}
	for _, c := range Cases {
		t.Run(c, func(t *testing.T) {
			why, ok := results[c]
			switch {
			case !ok:
				t.Errorf("%s did not report this case (exit: %v)", name, err)
			case why != "":
				t.Errorf("%s: %s", name, why)
			}
		})
	}
	if err != nil || t.Failed() {
		t.Errorf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", interpreter, script, err, out, stderr.String())
	}
}

var (
	buildOnce sync.Once
	simBin    string
	buildErr  error
)

// startSim builds cmd/zohosim once, starts it on a loopback port with fixed
// credentials and returns its URL; the process is stopped (SIGTERM) when the
// test ends.
func startSim(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "zohosink-contract-")
		if err != nil {
			buildErr = err
			return
		}
		simBin = filepath.Join(dir, "zohosim")
		out, err := exec.Command(goTool(), "build", "-o", simBin, "github.com/zohosink/zohosink/cmd/zohosim").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/zohosim: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	cmd := exec.Command(simBin, "-listen", "127.0.0.1:0", "-client-id", clientID, "-client-secret", clientSecret,
		"-refresh-token", refreshToken, "-scope", scope, "-v")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var logsMu sync.Mutex
	cmd.Stderr = writerFunc(func(p []byte) (int, error) {
		logsMu.Lock()
		defer logsMu.Unlock()
		return logs.Write(p)
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("zohosim exited: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("zohosim did not stop within 30s of SIGINT")
		}
		if t.Failed() {
			logsMu.Lock()
			t.Logf("zohosim requests:\n%s", logs.String())
			logsMu.Unlock()
		}
	})
	listening := regexp.MustCompile(`^zohosim listening on (http://\S+)`)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			t.Fatal("zohosim exited before listening")
		}
		return u
	case <-time.After(60 * time.Second):
		t.Fatal("zohosim did not print its address within 60s")
	}
	return ""
}

// grantCode fetches a fresh grant code from the simulator's debugging endpoint.
func grantCode(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/zohosim/grant-code")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("grant code: %d %v", resp.StatusCode, err)
	}
	return strings.TrimSpace(string(b))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// goTool is the go command that runs these tests: the one go test put first
// on PATH ($GOROOT/bin).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}
