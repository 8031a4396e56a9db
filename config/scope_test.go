package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestScope: a configuration without Zoho secrets and with a bad Kafka key
// is in scope for Kafka only through its Kafka problem, and fine for a
// command that needs neither; an unreadable file is never scoped away.
func TestScope(t *testing.T) {
	cleanEnv(t)
	_, err := Load(writeFile(t, "kafka:\n  group: \"\"\n"), nil)
	if len(FieldErrors(err)) < 2 {
		t.Fatalf("want problems of kafka.group and the zoho secrets, got %v", err)
	}
	kafka := func(key string) bool { return strings.HasPrefix(key, "kafka.") }
	got := FieldErrors(Scope(err, kafka))
	if len(got) != 1 || got[0].Key != "kafka.group" {
		t.Errorf("Kafka scope kept %v, want kafka.group only", got)
	}
	if err := Scope(err, func(key string) bool { return strings.HasPrefix(key, "log.") }); err != nil {
		t.Errorf("a scope without problems: %v", err)
	}
	if Scope(nil, kafka) != nil {
		t.Error("no error became one")
	}
	notFound := &os.PathError{Op: "open", Path: "x", Err: os.ErrNotExist}
	if err := Scope(notFound, kafka); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file error was scoped away: %v", err)
	}
}
