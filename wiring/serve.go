package wiring

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"go.uber.org/zap"
)

// ServeHTTP serves the pipeline's /healthz, /readyz and /metrics on addr until
// the returned function is called. An empty addr serves nothing. An address
// that cannot be listened on is an error naming the key and the cause:
// "http.listen 127.0.0.1:9464: address already in use".
func ServeHTTP(addr string, h http.Handler, log *zap.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http endpoint stopped", zap.Error(err))
		}
	}()
	log.Info("serving /healthz, /readyz and /metrics", zap.String("listen", ln.Addr().String()))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// listenError is net.Listen's error for addr as "http.listen ADDR: CAUSE",
// without the "listen tcp ADDR: bind:" wrapping (errors.Is still finds the
// errno, e.g. syscall.EADDRINUSE).
func listenError(addr string, err error) error {
	cause := err
	var opErr *net.OpError
	if errors.As(cause, &opErr) {
		cause = opErr.Err
	}
	var sysErr *os.SyscallError
	if errors.As(cause, &sysErr) {
		cause = sysErr.Err
	}
	return fmt.Errorf("http.listen %s: %w", addr, cause)
}
