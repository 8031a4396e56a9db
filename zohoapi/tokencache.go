package zohoapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// tokenCache is the CacheFile content. It names its credentials by two
// fingerprints, neither of which reveals a secret:
//   - Client (refreshTokenFingerprint) names the refresh token (with its
//     client and accounts server): TokenRequests, the times of recent token
//     requests, count against the mint budget of every process using that
//     refresh token, whatever client secret it holds, because Zoho counts
//     mints per refresh token.
//   - Credentials (credentialsFingerprint) names the exact credential set
//     that minted AccessToken, client secret included: only that set adopts
//     the token, so a changed (wrong or fixed) secret, client ID, refresh
//     token or accounts server mints afresh at start and is proven or
//     refused then, not an hour later. Files written before Credentials
//     existed lack it: their token is not adopted.
//
// MintedAt gives the token's lifetime (absent in older files:
// DefaultTokenLifetime is assumed).
type tokenCache struct {
	AccessToken   string      `json:"access_token"`
	Expiry        time.Time   `json:"expiry"`
	MintedAt      time.Time   `json:"minted_at,omitzero"`
	APIDomain     string      `json:"api_domain"`
	Client        string      `json:"client"`
	Credentials   string      `json:"credentials"`
	TokenRequests []time.Time `json:"token_requests,omitempty"`
}

// refreshTokenFingerprint names the refresh token the mint budget belongs to:
// a SHA-256 prefix (hex) of the accounts server, client ID and refresh token.
func (t *TokenSource) refreshTokenFingerprint() string {
	h := sha256.Sum256([]byte(t.o.Endpoints.Accounts + "\x00" + t.o.Credentials.ClientID + "\x00" + t.o.Credentials.RefreshToken))
	return hex.EncodeToString(h[:12])
}

// credentialsFingerprint names the credential set a cached token was minted
// with: HMAC-SHA-256 keyed by the client secret over the accounts server,
// client ID and refresh token (each length-prefixed), first 16 bytes in hex.
// Without the secret it cannot be computed, and it does not give the secret
// back.
func (t *TokenSource) credentialsFingerprint() string {
	m := hmac.New(sha256.New, []byte(t.o.Credentials.ClientSecret))
	for _, s := range []string{"zohosink token cache credentials v1", t.o.Endpoints.Accounts, t.o.Credentials.ClientID, t.o.Credentials.RefreshToken} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// loadCache adopts the cached token if it is before its refresh point, was
// minted with exactly these credentials (credentialsFingerprint) and belongs
// to the configured API host; the recorded token requests of this refresh
// token (refreshTokenFingerprint) count against the mint budget whether or
// not the token is adopted. A missing file (or folder) is normal; a file that
// cannot be read turns the cache off after one warning. Called before t is
// shared.
func (t *TokenSource) loadCache() {
	if t.o.CacheFile == "" {
		return
	}
	b, err := os.ReadFile(t.o.CacheFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		// Unreadable (permissions, a folder in the way): it would not be
		// writable either, so the source goes on without it, after one warning.
		t.log.Warn("zoho token cache cannot be read; continuing without it (each restart mints a new token)",
			zap.String("file", t.o.CacheFile), zap.Error(err))
		t.o.CacheFile = ""
		return
	}
	var c tokenCache
	if err := json.Unmarshal(b, &c); err != nil {
		t.log.Warn("zoho token cache is not valid JSON; ignoring it", zap.String("file", t.o.CacheFile))
		return
	}
	if c.Client != t.refreshTokenFingerprint() {
		t.log.Info("zoho token cache belongs to another refresh token; ignoring it", zap.String("file", t.o.CacheFile))
		return
	}
	t.requests = append(t.requests, c.TokenRequests...)
	_ = t.budgetWait(t.now()) // forget requests outside the window
	minted := c.MintedAt
	if minted.IsZero() || !minted.Before(c.Expiry) {
		minted = c.Expiry.Add(-DefaultTokenLifetime)
	}
	t.setToken(c.AccessToken, c.APIDomain, minted, c.Expiry)
	switch {
	case c.AccessToken == "":
		t.log.Info("zoho token cache holds no token", zap.String("file", t.o.CacheFile))
	case c.Credentials != t.credentialsFingerprint():
		t.log.Info("zoho token cache holds a token minted with other credentials (zoho.client_id, zoho.client_secret, zoho.refresh_token or the accounts server changed); ignoring it",
			zap.String("file", t.o.CacheFile))
	case checkAPIDomain(t.o.Endpoints.API, c.APIDomain) != nil:
		t.log.Info("zoho token cache belongs to another API host; ignoring it", zap.String("file", t.o.CacheFile), zap.String("api_domain", c.APIDomain))
	case !t.now().Before(t.refreshAt):
		t.log.Info("zoho token cache holds a token about to expire; ignoring it", zap.String("file", t.o.CacheFile), zap.Time("expiry", c.Expiry))
	default:
		t.log.Info("zoho access token reused from cache", zap.String("file", t.o.CacheFile), zap.Time("expiry", c.Expiry))
		return
	}
	t.setToken("", "", time.Time{}, time.Time{})
}

// saveCache writes the current token atomically (temp file + rename) with mode
// 0600, creating the file's folder (0700) when missing. The cache is an
// optimisation: when it cannot be written, that is logged once at warn and the
// source carries on without it (no further writes, reads or warnings). Called
// with t.mu held.
func (t *TokenSource) saveCache() {
	if t.o.CacheFile == "" {
		return
	}
	b, err := json.Marshal(tokenCache{AccessToken: t.tok, Expiry: t.expiry, MintedAt: t.minted, APIDomain: t.apiDomain,
		Client: t.refreshTokenFingerprint(), Credentials: t.credentialsFingerprint(), TokenRequests: t.requests})
	if err == nil {
		err = os.MkdirAll(filepath.Dir(t.o.CacheFile), 0o700)
	}
	if err == nil {
		err = writeFileAtomic(t.o.CacheFile, b)
	}
	if err != nil {
		t.log.Warn("zoho token cache cannot be written; continuing without it (each restart mints a new token)",
			zap.String("file", t.o.CacheFile), zap.Error(err))
		// t.o is this source's own copy of the options, only read under t.mu
		// (or before t is shared): clearing CacheFile turns the cache off.
		t.o.CacheFile = ""
	}
}

// removeCache deletes the cache file. Called with t.mu held.
func (t *TokenSource) removeCache() {
	if t.o.CacheFile == "" {
		return
	}
	if err := os.Remove(t.o.CacheFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.log.Warn("zoho token cache not removed", zap.String("file", t.o.CacheFile), zap.Error(err))
	}
}

// writeFileAtomic writes b to a 0600 temporary file beside path, syncs it and
// renames it over path, so readers see the old or the new content, never a mix.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		ok = true
		return err
	}
	ok = true
	return nil
}
