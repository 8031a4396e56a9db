package zohoapi

import (
	"fmt"
	"net/url"
	"strings"
)

// DataCenter is one of Zoho's regional data centers. Every Zoho account lives in
// exactly one; its API host, its accounts (OAuth) host and its tokens must all
// belong to that data center (zoho-crm-api.md, "Data centers"; Zoho doc page
// "Multi DC support").
type DataCenter struct {
	// Code is the short name used in configuration: us, eu, in, au, jp, ca, sa, cn.
	Code string
	// AccountsHost is the OAuth host, e.g. "accounts.zoho.eu". Canada's is
	// "accounts.zohocloud.ca", not "accounts.zoho.ca".
	AccountsHost string
	// APIHost is the CRM API host, e.g. "www.zohoapis.eu".
	APIHost string
}

// DataCenters lists all eight Zoho data centers, in the order of Zoho's documentation.
var DataCenters = []DataCenter{
	{Code: "us", AccountsHost: "accounts.zoho.com", APIHost: "www.zohoapis.com"},
	{Code: "eu", AccountsHost: "accounts.zoho.eu", APIHost: "www.zohoapis.eu"},
	{Code: "in", AccountsHost: "accounts.zoho.in", APIHost: "www.zohoapis.in"},
	{Code: "au", AccountsHost: "accounts.zoho.com.au", APIHost: "www.zohoapis.com.au"},
	{Code: "jp", AccountsHost: "accounts.zoho.jp", APIHost: "www.zohoapis.jp"},
	{Code: "ca", AccountsHost: "accounts.zohocloud.ca", APIHost: "www.zohoapis.ca"},
	{Code: "sa", AccountsHost: "accounts.zoho.sa", APIHost: "www.zohoapis.sa"},
	{Code: "cn", AccountsHost: "accounts.zoho.com.cn", APIHost: "www.zohoapis.com.cn"},
}

// DataCenterByCode returns the data center with the given code (case-insensitive),
// or false when the code is not one of the eight.
func DataCenterByCode(code string) (DataCenter, bool) {
	code = strings.ToLower(strings.TrimSpace(code))
	for _, dc := range DataCenters {
		if dc.Code == code {
			return dc, true
		}
	}
	return DataCenter{}, false
}

// DataCenterOfHost returns the data center that a Zoho API or accounts host belongs
// to. The host may carry a scheme and a port ("https://www.zohoapis.eu"). It returns
// false for hosts that are not Zoho's (a simulator, a proxy).
func DataCenterOfHost(host string) (DataCenter, bool) {
	h := hostname(host)
	for _, dc := range DataCenters {
		if h == dc.APIHost || h == dc.AccountsHost {
			return dc, true
		}
	}
	return DataCenter{}, false
}

// Endpoints are the two base URLs zohosink talks to: scheme and host (and port),
// without a trailing slash, e.g. API "https://www.zohoapis.com" and Accounts
// "https://accounts.zoho.com".
type Endpoints struct {
	// API is the CRM API base URL; requests go to API + "/crm/v8/...".
	API string
	// Accounts is the OAuth base URL; tokens come from Accounts + "/oauth/v2/token".
	Accounts string
}

// DataCenterMismatchError reports hosts that belong to different data centers, or
// to a data center other than the configured one. Tokens of one data center are
// rejected by the hosts of another (INVALID_TOKEN, invalid_client), so this is a
// configuration error. Source: zoho-crm-api.md, "Data centers".
type DataCenterMismatchError struct {
	// What names the two things compared, e.g. "zoho.api_domain vs zoho.accounts_url".
	What string
	// HostA and HostB are the two hosts (or data-center codes) that disagree.
	HostA, HostB string
}

// Error names both hosts and what was compared.
func (e *DataCenterMismatchError) Error() string {
	return fmt.Sprintf("data-center mismatch (%s): %q and %q belong to different Zoho data centers; API host, accounts host and refresh token must all come from the data center your account lives in", e.What, e.HostA, e.HostB)
}

// ResolveEndpoints turns configuration into base URLs. dataCenter is a code
// ("eu") or empty; apiDomain and accountsURL are hosts, optionally with a scheme
// ("http://127.0.0.1:8080" for a sandbox or the simulator; https is the default).
// Explicit hosts win over the data center's. Errors: an unknown data-center code;
// neither a data center nor both hosts given; a malformed host; or a
// *DataCenterMismatchError when Zoho hosts belong to different data centers or to
// another data center than the one named; a host shaped like Zoho's that is none
// of the eight (accounts.zoho.ca: Canada's is accounts.zohocloud.ca) is an error
// too. Hosts that are not Zoho's at all (a simulator, a proxy) are taken as given.
func ResolveEndpoints(dataCenter, apiDomain, accountsURL string) (Endpoints, error) {
	var dc DataCenter
	if strings.TrimSpace(dataCenter) != "" {
		var ok bool
		if dc, ok = DataCenterByCode(dataCenter); !ok {
			return Endpoints{}, fmt.Errorf("unknown data center %q (want one of us, eu, in, au, jp, ca, sa, cn)", dataCenter)
		}
	}
	api, accounts := strings.TrimSpace(apiDomain), strings.TrimSpace(accountsURL)
	if api == "" {
		api = dc.APIHost
	}
	if accounts == "" {
		accounts = dc.AccountsHost
	}
	if api == "" || accounts == "" {
		return Endpoints{}, fmt.Errorf("no Zoho hosts: set a data center, or both the API domain and the accounts URL")
	}
	var eps Endpoints
	var err error
	if eps.API, err = baseURL(api); err != nil {
		return Endpoints{}, fmt.Errorf("API domain: %w", err)
	}
	if eps.Accounts, err = baseURL(accounts); err != nil {
		return Endpoints{}, fmt.Errorf("accounts URL: %w", err)
	}
	for _, h := range []string{api, accounts} {
		if err := checkLookalike(h); err != nil {
			return Endpoints{}, err
		}
	}
	// The named data center is checked first: with only one host given, the
	// other comes from the data center, and the given host is the one at fault.
	apiDC, apiIsZoho := DataCenterOfHost(api)
	accDC, accIsZoho := DataCenterOfHost(accounts)
	if dc.Code != "" {
		if apiIsZoho && apiDC.Code != dc.Code {
			return Endpoints{}, &DataCenterMismatchError{What: "data center " + dc.Code + " vs API domain", HostA: dc.APIHost, HostB: hostname(api)}
		}
		if accIsZoho && accDC.Code != dc.Code {
			return Endpoints{}, &DataCenterMismatchError{What: "data center " + dc.Code + " vs accounts URL", HostA: dc.AccountsHost, HostB: hostname(accounts)}
		}
	}
	if apiIsZoho && accIsZoho && apiDC.Code != accDC.Code {
		return Endpoints{}, &DataCenterMismatchError{What: "API domain vs accounts URL", HostA: hostname(api), HostB: hostname(accounts)}
	}
	return eps, nil
}

// checkLookalike refuses hosts that look like Zoho's (accounts.zoho.<tld>,
// www.zohoapis.<tld>) but belong to no data center: templating
// "accounts.zoho.{tld}" breaks Canada, whose accounts host is accounts.zohocloud.ca
// (zoho-crm-api.md, "What integrators got wrong").
func checkLookalike(host string) error {
	h := hostname(host)
	if i := strings.LastIndex(h, ":"); i >= 0 {
		h = h[:i]
	}
	if _, ok := DataCenterOfHost(h); ok {
		return nil
	}
	if strings.HasPrefix(h, "accounts.zoho") || strings.HasPrefix(h, "www.zohoapis.") || strings.HasPrefix(h, "zohoapis.") {
		hint := ""
		if strings.HasSuffix(h, ".ca") {
			hint = " (Canada's hosts are accounts.zohocloud.ca and www.zohoapis.ca)"
		}
		return fmt.Errorf("%q is not the host of any Zoho data center%s", h, hint)
	}
	return nil
}

// SameAPIHost reports whether two API base URLs or hosts name the same host,
// ignoring scheme, case and a trailing slash. Used to compare a token response's
// api_domain with the configured API host.
func SameAPIHost(a, b string) bool {
	return hostname(a) == hostname(b)
}

// baseURL returns scheme://host[:port] for a host that may carry a scheme.
func baseURL(s string) (string, error) {
	raw := s
	if !strings.Contains(s, "://") {
		raw = "https://" + s
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%q is not a host or URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q: scheme must be http or https", s)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return "", fmt.Errorf("%q: give a host, not a path", s)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// hostname returns the lower-cased host (with port) of a host or URL.
func hostname(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	return strings.TrimRight(s, "/")
}
