//go:build !testcontainers

package kafkatest

import "testing"

// containerBrokers, in a build without the testcontainers tag, skips the test:
// the container path and its Docker client are compiled only with
// -tags testcontainers, so ordinary builds stay small.
func containerBrokers(t testing.TB) []string {
	t.Helper()
	t.Skipf("kafkatest: %s=1 needs the container support: run go test -tags testcontainers", EnvTestcontainers)
	return nil
}
