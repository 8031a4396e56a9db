// Package process holds process-level tests of zohosink: they build the real
// `consumer` binary once and run `consumer run --config FILE` processes as an
// operator would, against a Kafka protocol broker (an in-process kfake cluster
// by default, the broker in $KAFKA_BROKERS when set; see internal/kafkatest)
// and an in-process Zoho simulator (zohoapi/zohosim) that the processes reach
// over HTTP on loopback.
//
//	test ──produce──▶ Kafka topic ──▶ consumer run (1..3 processes, one group) ──▶ zohosim
//	  │                    ▲                 │ SIGKILL / SIGTERM / late start         │
//	  └── committed offsets, log end ◀── commit                 Lead per email ◀──────┘
//
// What they prove, with processes killed (SIGKILL), stopped (SIGTERM) and
// started late while events keep arriving:
//   - no event is lost: once the group's committed offsets reach the log end,
//     every Lead in the simulator holds the value of its email's last event;
//   - a committed offset never passes a record Zoho has not acknowledged;
//   - SIGTERM stops a process cleanly: exit status 0 within 15s with default
//     delivery settings in every state (retrying, throttled, breaker open,
//     dead-letter writes failing, a Zoho call hanging), committing nothing
//     that was not acknowledged.
//
// Each test writes its configuration into a temporary directory and keeps every
// process's stderr in a file, printed when the test fails. When the tests run
// with -race the binary is built with -race too, and a data race reported by a
// process fails the test.
//
// The package has no code besides this comment: everything is in its tests.
package process
