// Package zohosim is an in-memory simulator of the parts of Zoho CRM that
// zohosink talks to: the accounts (OAuth) token endpoint, the v8 Upsert Records
// API (values checked by field type, as Zoho does), the Fields metadata API and
// the Layouts API, plus the Get Users (type=CurrentUser) and
// Get Organization calls Zoho's official SDKs make after minting a token. Tests,
// the demo and local development point the real client (or Zoho's SDKs, see
// test/contract) at it instead of Zoho.
//
//	client ──POST /oauth/v2/token──────────────▶ ┌───────────── Server (one listener, 127.0.0.1:0) ─────────────┐
//	       ◀── access_token, api_domain=URL() ── │ tokens: 10 mints/10 min, 15 live per refresh token, expiry   │
//	       ──POST /crm/v8/{module}/upsert──────▶ │ auth → module → concurrency → faults → latency → validate    │
//	       ◀── 200 / 207 / 400 data[] ────────── │ records (dedupe on Email), credits, stats, calls             │
//	       ──GET /crm/v8/settings/fields───────▶ │ field metadata (Leads, Contacts, + AddField, AddModule)      │
//	       ──GET /crm/v8/settings/layouts──────▶ │ one "Standard" layout per module, required fields            │
//	       ──GET /crm/v8/users, /crm/v8/org────▶ │ the one simulated user and org (scope users/org READ)        │
//	                                             └──────────────────────────────────────────────────────────────┘
//
// Outside Zoho's paths, under [DebugPathPrefix] (/zohosim/), two debugging
// endpoints that need no token serve manual use of the standalone simulator
// (cmd/zohosim): GET /zohosim/grant-code (a fresh grant code) and GET
// /zohosim/records?module=Leads (the stored records as JSON).
//
// The simulator follows ../shared/zoho-crm-api.md (the team's digest of Zoho's v8
// documentation). Where Zoho's behaviour is unconfirmed, the simulator picks one
// behaviour, documents it at the place it is implemented, and where it matters
// offers a knob (an [Options] field or a Set… method) to choose another.
//
// Guarantees:
//   - Responses carry Zoho's documented JSON shapes and HTTP statuses: token
//     errors with HTTP 200 and an "error" key; upsert results one per input
//     record, in input order, with status 200 (all ok), 207 (mixed) or 400 (all
//     failed, still with data[]).
//   - All state (records, stats, calls) and all knobs are safe for concurrent use.
//   - Time-dependent rules (token expiry, token throttle, grant-code expiry,
//     rolling 24 h credits) read [Options.Now], so tests move time without
//     sleeping. Latency and hangs use real time.
//   - No goroutine outlives [Server.Close]; hung requests are released by Close.
//   - The simulator never logs secrets or tokens.
//
// The package deliberately does not import the zohoapi client: the two meet only
// over HTTP, which keeps each honest about Zoho's wire format.
package zohosim
