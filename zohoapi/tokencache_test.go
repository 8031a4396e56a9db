package zohoapi

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestTokenCacheFolder: the cache's folder is created (0700) when missing; a
// location that cannot be written or read costs one warning, then the source
// works on without the cache.
func TestTokenCacheFolder(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "cache", "zohosink")
	cache := filepath.Join(dir, "zoho-token.json")
	acc := newFakeAccounts(t, okToken(testAPI))
	clk := newFakeClock()
	ts := newTestSource(t, acc, clk, func(o *TokenSourceOptions) { o.CacheFile = cache })
	if _, err := ts.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("cache folder: %v, %v; want created with mode 0700", st, err)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("cache file not written: %v", err)
	}

	// A regular file where the folder should be: neither reading nor writing
	// works, whoever runs the test (root included).
	blocker := filepath.Join(t.TempDir(), "not-a-folder")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{
		"unwritable": filepath.Join(blocker, "zohosink", "zoho-token.json"), // MkdirAll fails
		"unreadable": filepath.Join(blocker, "zoho-token.json"),             // ReadFile fails (ENOTDIR)
	} {
		t.Run(name, func(t *testing.T) {
			core, logs := observer.New(zapcore.DebugLevel)
			ts := newTestSource(t, acc, clk, func(o *TokenSourceOptions) { o.CacheFile = file; o.Logger = zap.New(core) })
			for i := range 3 {
				tok, err := ts.Token(ctx)
				if err != nil || tok == "" {
					t.Fatalf("Token %d: %q, %v", i, tok, err)
				}
				ts.Invalidate(tok) // the next call mints (and would write) again
				clk.advance(forcedMintInterval)
			}
			if ts.Mints() != 3 {
				t.Errorf("mints = %d, want 3", ts.Mints())
			}
			warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
			if len(warns) != 1 || !strings.Contains(warns[0].Message, "continuing without it") {
				t.Errorf("warnings %v, want exactly one saying the cache is off", warns)
			}
		})
	}
}
