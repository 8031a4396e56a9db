package main

import (
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
