package zohoapi

import (
	"errors"
	"strings"
	"testing"
)

func TestDataCentersAllEight(t *testing.T) {
	want := map[string][2]string{
		"us": {"www.zohoapis.com", "accounts.zoho.com"},
		"eu": {"www.zohoapis.eu", "accounts.zoho.eu"},
		"in": {"www.zohoapis.in", "accounts.zoho.in"},
		"au": {"www.zohoapis.com.au", "accounts.zoho.com.au"},
		"jp": {"www.zohoapis.jp", "accounts.zoho.jp"},
		"ca": {"www.zohoapis.ca", "accounts.zohocloud.ca"},
		"sa": {"www.zohoapis.sa", "accounts.zoho.sa"},
		"cn": {"www.zohoapis.com.cn", "accounts.zoho.com.cn"},
	}
	if len(DataCenters) != len(want) {
		t.Fatalf("DataCenters has %d entries, want %d", len(DataCenters), len(want))
	}
	for code, hosts := range want {
		t.Run(code, func(t *testing.T) {
			for _, c := range []string{code, strings.ToUpper(code), " " + code + " "} {
				dc, ok := DataCenterByCode(c)
				if !ok || dc.Code != code || dc.APIHost != hosts[0] || dc.AccountsHost != hosts[1] {
					t.Fatalf("DataCenterByCode(%q) = %+v, %v", c, dc, ok)
				}
			}
			for _, h := range []string{hosts[0], hosts[1], "https://" + hosts[0], "HTTPS://" + strings.ToUpper(hosts[1]) + "/"} {
				if dc, ok := DataCenterOfHost(h); !ok || dc.Code != code {
					t.Errorf("DataCenterOfHost(%q) = %+v, %v; want %s", h, dc, ok, code)
				}
			}
			eps, err := ResolveEndpoints(code, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if eps.API != "https://"+hosts[0] || eps.Accounts != "https://"+hosts[1] {
				t.Errorf("ResolveEndpoints(%q) = %+v", code, eps)
			}
		})
	}
}

func TestDataCenterUnknown(t *testing.T) {
	if _, ok := DataCenterByCode("uk"); ok {
		t.Error("uk is not a Zoho data center")
	}
	for _, h := range []string{"accounts.zoho.ca", "127.0.0.1:8080", "http://localhost", "zohoapis.com.evil.example"} {
		if dc, ok := DataCenterOfHost(h); ok {
			t.Errorf("DataCenterOfHost(%q) = %s, want not Zoho", h, dc.Code)
		}
	}
}

func TestResolveEndpoints(t *testing.T) {
	tests := []struct {
		name, dc, api, accounts string
		want                    Endpoints
		wantErr                 bool
		mismatch                []string // both hosts named by the *DataCenterMismatchError
	}{
		{name: "dc only", dc: "eu", want: Endpoints{API: "https://www.zohoapis.eu", Accounts: "https://accounts.zoho.eu"}},
		{name: "explicit hosts win", dc: "eu", api: "www.zohoapis.eu", accounts: "https://accounts.zoho.eu/", want: Endpoints{API: "https://www.zohoapis.eu", Accounts: "https://accounts.zoho.eu"}},
		{name: "hosts without dc", api: "www.zohoapis.ca", accounts: "accounts.zohocloud.ca", want: Endpoints{API: "https://www.zohoapis.ca", Accounts: "https://accounts.zohocloud.ca"}},
		{name: "http scheme kept for sandboxes", api: "http://127.0.0.1:8080", accounts: "http://127.0.0.1:8080", want: Endpoints{API: "http://127.0.0.1:8080", Accounts: "http://127.0.0.1:8080"}},
		{name: "https default and lower-cased", api: "Proxy.Example:8443", accounts: "proxy.example", want: Endpoints{API: "https://proxy.example:8443", Accounts: "https://proxy.example"}},
		{name: "non-Zoho host with dc taken as given", dc: "us", api: "http://127.0.0.1:9", want: Endpoints{API: "http://127.0.0.1:9", Accounts: "https://accounts.zoho.com"}},
		{name: "unknown dc", dc: "xx", wantErr: true},
		{name: "nothing given", wantErr: true},
		{name: "only api host", api: "www.zohoapis.com", wantErr: true},
		{name: "bad scheme", api: "ftp://www.zohoapis.com", accounts: "accounts.zoho.com", wantErr: true},
		{name: "path given", api: "https://www.zohoapis.com/crm/v8", accounts: "accounts.zoho.com", wantErr: true},
		{name: "api vs accounts of two dcs", api: "www.zohoapis.com", accounts: "accounts.zoho.eu", wantErr: true, mismatch: []string{"www.zohoapis.com", "accounts.zoho.eu"}},
		{name: "canada templated wrongly (accounts.zoho.ca) is refused", dc: "ca", api: "www.zohoapis.ca", accounts: "accounts.zoho.ca", wantErr: true},
		{name: "dc vs api host", dc: "eu", api: "www.zohoapis.com", wantErr: true, mismatch: []string{"www.zohoapis.eu", "www.zohoapis.com"}},
		{name: "dc vs accounts host", dc: "in", accounts: "https://accounts.zoho.jp", wantErr: true, mismatch: []string{"accounts.zoho.in", "accounts.zoho.jp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveEndpoints(tt.dc, tt.api, tt.accounts)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %+v", got)
				}
				var mm *DataCenterMismatchError
				if tt.mismatch != nil {
					if !errors.As(err, &mm) {
						t.Fatalf("want *DataCenterMismatchError, got %T %v", err, err)
					}
					for _, h := range tt.mismatch {
						if !strings.Contains(err.Error(), h) {
							t.Errorf("error %q does not name %s", err, h)
						}
					}
					if Classify(err) != ClassConfig {
						t.Errorf("Classify = %v, want config", Classify(err))
					}
				} else if errors.As(err, &mm) {
					t.Errorf("unexpected mismatch error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestSameAPIHost(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"https://www.zohoapis.eu", "www.zohoapis.eu", true},
		{"https://www.zohoapis.eu/", "HTTP://WWW.ZOHOAPIS.EU", true},
		{"https://www.zohoapis.eu", "https://www.zohoapis.com", false},
		{"http://127.0.0.1:1", "http://127.0.0.1:2", false},
	}
	for _, tt := range tests {
		if got := SameAPIHost(tt.a, tt.b); got != tt.want {
			t.Errorf("SameAPIHost(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

// TestResolveEndpointsLookalikeHosts: hosts shaped like Zoho's that belong to no
// data center are refused, with Canada's real host named.
func TestResolveEndpointsLookalikeHosts(t *testing.T) {
	_, err := ResolveEndpoints("ca", "", "accounts.zoho.ca")
	if err == nil || !strings.Contains(err.Error(), "accounts.zohocloud.ca") {
		t.Fatalf("accounts.zoho.ca: err = %v, want one naming accounts.zohocloud.ca", err)
	}
	if _, err := ResolveEndpoints("", "www.zohoapis.xx", "accounts.zoho.xx"); err == nil {
		t.Fatal("www.zohoapis.xx accepted")
	}
	if _, err := ResolveEndpoints("", "http://127.0.0.1:8080", "https://proxy.internal:8443"); err != nil {
		t.Fatalf("non-Zoho hosts must be taken as given: %v", err)
	}
}
