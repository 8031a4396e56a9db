package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/wiring"
)

func newRunCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the pipeline until SIGINT/SIGTERM",
		Long: `Run joins the consumer group, delivers events to Zoho CRM and serves /healthz,
/readyz and /metrics on http.listen. On SIGINT or SIGTERM it stops fetching,
ends retry waits at once, lets Zoho calls under way finish within
delivery.shutdown_grace (default 10s), commits what is
done and exits 0. A configuration error (bad client secret, revoked refresh
token, wrong module, data-center mismatch) stops delivery, fails /readyz and
commits nothing further; the process then exits 1 on SIGTERM.`,
		Example: `  consumer run --config zohosink.yaml
  ZOHOSINK_ZOHO_CLIENT_SECRET=... ZOHOSINK_ZOHO_REFRESH_TOKEN=... consumer run -c zohosink.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			log, err := newLogger(cfg.Log.Level, cfg.Log.Format)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			p, err := wiring.NewPipeline(cfg, log)
			if err != nil {
				return err
			}
			stopHTTP, err := serveHTTP(cfg.HTTP.Listen, p.Handler(), log)
			if err != nil {
				return err
			}
			defer stopHTTP()
			return p.Run(cmd.Context())
		},
	}
}

// serveHTTP serves the pipeline's /healthz, /readyz and /metrics on addr until
// the returned function is called. An empty addr serves nothing. An address
// that cannot be listened on is an error naming the key and the cause:
// "http.listen 127.0.0.1:9464: address already in use".
func serveHTTP(addr string, h http.Handler, log *zap.Logger) (func(), error) {
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
