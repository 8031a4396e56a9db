package wiring

import (
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"

	"go.uber.org/zap"
)

// TestServeHTTPBindErrorNamesKey: an http.listen address in use is reported
// with the key, the address and the cause only.
func TestServeHTTPBindErrorNamesKey(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	stop, err := ServeHTTP(addr, http.NotFoundHandler(), zap.NewNop())
	if err == nil {
		stop()
		t.Fatal("listening on an address in use succeeded")
	}
	if want := "http.listen " + addr + ": address already in use"; err.Error() != want || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %q, want %q wrapping EADDRINUSE", err, want)
	}
}
