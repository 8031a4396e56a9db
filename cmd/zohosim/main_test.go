package main

import (
	"bufio"
	"context"
	"encoding/json"
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
		err := run(ctx, []string{"-listen", "127.0.0.1:0", "-client-id", "1000.DEV", "-client-secret", "s3cret", "-refresh-token", "1000.r.t"}, pw, io.Discard)
		pw.Close()
		done <- err
	}()
	vals := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(vals) < 5 && sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && strings.HasPrefix(k, "zoho.") {
			vals[k] = strings.TrimSpace(v)
		}
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
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" || tok.APIDomain != vals["zoho.api_domain"] {
		t.Fatalf("token: %v %+v", err, tok)
	}
	cancel()
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-same-email", "merge"}, {"-nope"}, {"extra"}} {
		if err := run(context.Background(), append([]string{"-listen", "127.0.0.1:0"}, args...), io.Discard, io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
