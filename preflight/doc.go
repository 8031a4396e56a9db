// Package preflight checks, before a deploy, what `consumer run` will need
// from the outside world, and explains what is wrong in the terms of the
// configuration: the checks of `consumer config validate --online`. It
// runs after config.Validate found nothing wrong offline.
//
//	Run(cfg) ──▶ Zoho: one token refresh (proves the refresh token; the new
//	    │              token goes to zoho.token_cache_file for the next run),
//	    │              the token's api_domain against zoho.api_domain;
//	    │              field metadata of zoho.module against every field the
//	    │              module's preset and mapping.fields write (types as
//	    │              mapping/fieldvalue writes them, constants converted),
//	    │              and its system-mandatory and layout-mandatory fields
//	    │              (Layouts API)
//	    └──────▶ Kafka: connection (kafkaconn.Probe/Diagnose: unreachable,
//	                   TLS, SASL), source and dead-letter topics (exist,
//	                   ACL READ / WRITE), the group (ACL), and the topics'
//	                   max.message.bytes as the pipeline sizes its producer
//
// The result is a Report: sections of checks, each Pass, Fail or Warn with a
// one-line message that names the key to fix; the command renders it. The
// explanations of Zoho's token and field-metadata errors (TokenProblem,
// FieldsProblem, ExchangeProblem) serve the zoho commands too.
//
// Guarantees:
//
//   - Read only, apart from the one token mint (Zoho allows 10 per 10
//     minutes per refresh token): nothing is written to Zoho or Kafka.
//   - Every check runs that can: a failed token skips only the field check,
//     unreadable layouts (scope ZohoCRM.settings.layouts.READ) only the
//     layout-mandatory check, a failed Kafka connection only the Kafka
//     checks after it.
//   - Bounded: every call is bounded by the caller's context; the Kafka
//     connection probe by 15 s.
//   - No secret appears in a message (zohoapi and kafkaconn errors carry none).
package preflight
