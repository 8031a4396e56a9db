package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestRunServesAndPrintsCredentials(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-listen", "127.0.0.1:0", "-client-id", "1000.DEV", "-client-secret", "s3cret", "-refresh-token", "1000.r.t",
			"-scope", "ZohoCRM.modules.ALL,ZohoCRM.users.READ"}, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	vals := map[string]string{}
	var printed []string
	grantCode := ""
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		printed = append(printed, line)
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.HasPrefix(k, "zoho.") {
			vals[k] = strings.TrimSpace(v)
		}
		if len(printed) >= 2 && strings.HasPrefix(printed[len(printed)-2], "Grant code") {
			grantCode = strings.TrimSpace(line)
		}
		if strings.HasPrefix(line, "Stored records:") {
			break
		}
	}
	if !strings.Contains(strings.Join(printed, "\n"), "simulator credentials, fixed by -client-id, -client-secret and -refresh-token") {
		t.Errorf("output does not say the credentials are fixed:\n%s", strings.Join(printed, "\n"))
	}
	base := vals["zoho.accounts_url"]
	if vals["zoho.client_id"] != "1000.DEV" || vals["zoho.refresh_token"] != "1000.r.t" || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("printed %v", vals)
	}
	resp, err := http.PostForm(base+"/oauth/v2/token", url.Values{"grant_type": {"refresh_token"},
		"client_id": {"1000.DEV"}, "client_secret": {"s3cret"}, "refresh_token": {"1000.r.t"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		APIDomain   string `json:"api_domain"`
		Scope       string `json:"scope"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" || tok.APIDomain != vals["zoho.api_domain"] || tok.Scope != "ZohoCRM.modules.ALL,ZohoCRM.users.READ" {
		t.Fatalf("token: %v %+v", err, tok)
	}

	// The printed grant code works once in `consumer zoho token exchange`'s grant.
	exchange := func(code string) (refresh, errCode string) {
		t.Helper()
		resp, err := http.PostForm(base+"/oauth/v2/token", url.Values{"grant_type": {"authorization_code"},
			"client_id": {"1000.DEV"}, "client_secret": {"s3cret"}, "code": {code}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			RefreshToken string `json:"refresh_token"`
			Error        string `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		return r.RefreshToken, r.Error
	}
	if rt, e := exchange(grantCode); rt == "" || e != "" {
		t.Errorf("printed grant code %q: refresh %q, error %q", grantCode, rt, e)
	}
	if _, e := exchange(grantCode); e != "invalid_code" {
		t.Errorf("printed grant code used twice: error %q, want invalid_code", e)
	}
	resp, err = http.Get(base + "/zohosim/grant-code")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if rt, e := exchange(strings.TrimSpace(string(b))); rt == "" || e != "" {
		t.Errorf("GET /zohosim/grant-code %q: refresh %q, error %q", b, rt, e)
	}
	resp, err = http.Get(base + "/zohosim/records?module=Leads")
	if err != nil {
		t.Fatal(err)
	}
	var recs struct {
		Module string `json:"module"`
		Count  int    `json:"count"`
	}
	err = json.NewDecoder(resp.Body).Decode(&recs)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || recs.Module != "Leads" || recs.Count != 0 {
		t.Errorf("GET /zohosim/records: %d %+v %v", resp.StatusCode, recs, err)
	}

	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunPrintsRandomCredentialsNote(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "random on every start unless -client-id, -client-secret and -refresh-token fix them"},
		{[]string{"-refresh-token", "1000.r.t"}, "client_id and client_secret random on every start unless -client-id and -client-secret fix them"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var out strings.Builder
		cancel() // print, then stop at once
		if err := run(ctx, append([]string{"-listen", "127.0.0.1:0"}, tc.args...), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.want, out.String())
		}
	}
}

func TestHelpDocumentsDebugEndpoints(t *testing.T) {
	var errOut strings.Builder
	if err := run(context.Background(), []string{"-help"}, io.Discard, &errOut); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help: %v", err)
	}
	for _, s := range []string{"GET /zohosim/grant-code", "GET /zohosim/records?module=Leads", "consumer zoho token exchange", "-client-secret"} {
		if !strings.Contains(errOut.String(), s) {
			t.Errorf("-help lacks %q:\n%s", s, errOut.String())
		}
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-same-email", "merge"}, {"-nope"}, {"extra"}} {
		if err := run(context.Background(), append([]string{"-listen", "127.0.0.1:0"}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
