package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestZohoFields(t *testing.T) {
	e := newOpsEnv(t, 1)
	out, err := e.run("zoho", "fields")
	if err != nil {
		t.Fatalf("zoho fields: %v\n%s", err, out)
	}
	for _, row := range []string{
		`│ +api_name +│ data_type +│ length +│ mandatory +│ read-only +│ unique +│`,
		`│ Last_Name +│ text +│ 80 +│ yes +│ +│ +│`,
		`│ Email +│ email +│ 100 +│ +│ +│ yes +│`,
		`│ Lead_Source +│ picklist +│ 120 +│ +│ +│ +│`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("no row %s:\n%s", row, out)
		}
	}
	if !strings.Contains(out, "fields of module Leads") {
		t.Errorf("no summary line:\n%s", out)
	}

	out, err = e.run("zoho", "fields", "--module", "Contacts")
	if err != nil || !strings.Contains(out, "Mailing_City") || strings.Contains(out, "Lead_Status") {
		t.Errorf("--module Contacts: %v\n%s", err, out)
	}
	if _, err := e.run("zoho", "fields", "--module", "leads"); err == nil || !strings.Contains(err.Error(), `zoho.module "leads" is not a module`) {
		t.Errorf("unknown module: err = %v", err)
	}
}

// TestZohoFieldsReusesCachedToken: operator commands share one access token
// through the default token cache (zohosink/zoho-token.json in the user's
// cache directory), so a series of them does not use up Zoho's 10 token mints
// per 10 minutes; zoho.token_cache_file: "" turns the cache off.
func TestZohoFieldsReusesCachedToken(t *testing.T) {
	cacheHome := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cacheHome) // os.UserCacheDir on Linux and the BSDs
	e := newOpsEnv(t, 1)
	s := e.settings()
	delete(s["zoho"], "token_cache_file")
	path := e.writeConfig(s)
	for i := range 3 {
		if out, err := runConsumer(path, "zoho", "fields"); err != nil {
			t.Fatalf("zoho fields #%d: %v\n%s", i+1, err, out)
		}
	}
	if n := e.sim.Stats().TokenMints; n != 1 {
		t.Errorf("3 commands minted %d tokens, want 1 (cached)", n)
	}
	file := filepath.Join(cacheHome, "zohosink", "zoho-token.json")
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("default cache file %s: %v, %v; want mode 0600", file, st, err)
	}
	if st, err := os.Stat(filepath.Dir(file)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache folder: %v, %v; want created with mode 0700", st, err)
	}
	if b, _ := os.ReadFile(file); strings.Contains(string(b), e.sim.RefreshToken()) || strings.Contains(string(b), e.sim.ClientSecret()) {
		t.Error("the cache file holds a secret")
	}

	s["zoho"]["token_cache_file"] = ""
	path = e.writeConfig(s)
	for i := range 2 {
		if out, err := runConsumer(path, "zoho", "fields"); err != nil {
			t.Fatalf("zoho fields without cache #%d: %v\n%s", i+1, err, out)
		}
	}
	if n := e.sim.Stats().TokenMints; n != 3 {
		t.Errorf("with the cache off, 2 more commands made %d mints in all, want 3", n)
	}
}

// TestZohoTokenExchange exchanges a grant code without a refresh token in the
// configuration, checks that the printed token works, and that a used code is
// refused in plain words.
func TestZohoTokenExchange(t *testing.T) {
	e := newOpsEnv(t, 1)
	s := e.settings()
	delete(s["zoho"], "refresh_token")
	path := e.writeConfig(s)
	code := e.sim.GrantCode()

	out, err := runConsumer(path, "zoho", "token", "exchange", "--code", code)
	if err != nil {
		t.Fatalf("exchange: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^    (\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no refresh token in the output:\n%s", out)
	}
	refresh := m[1]
	if refresh == e.sim.RefreshToken() {
		t.Fatal("the exchange printed the existing refresh token, not a new one")
	}
	wantLines(t, out, "It is shown only this once", "ZOHOSINK_ZOHO_REFRESH_TOKEN", "consumer config validate --online")

	// The new refresh token works: with it, the online checks pass.
	s["zoho"]["refresh_token"] = refresh
	if out, err := runConsumer(e.writeConfig(s), "config", "validate", "--online"); err != nil {
		t.Errorf("validate --online with the exchanged refresh token: %v\n%s", err, out)
	}

	// A grant code works once.
	_, err = runConsumer(path, "zoho", "token", "exchange", "--code", code)
	if err == nil || !strings.Contains(err.Error(), "invalid_code") || !strings.Contains(err.Error(), "a code works once") {
		t.Errorf("second exchange of one code: err = %v", err)
	}
	if _, err := runConsumer(path, "zoho", "token", "exchange"); err == nil {
		t.Error("exchange without --code is accepted")
	}
}
