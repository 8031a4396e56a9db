package main

import (
	"github.com/spf13/cobra"

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
			log, err := wiring.Logger(cfg.Log.Level, cfg.Log.Format)
			if err != nil {
				return err
			}
			defer func() { _ = log.Sync() }()
			p, err := wiring.NewPipeline(cfg, log)
			if err != nil {
				return err
			}
			stopHTTP, err := wiring.ServeHTTP(cfg.HTTP.Listen, p.Handler(), log)
			if err != nil {
				return err
			}
			defer stopHTTP()
			return p.Run(cmd.Context())
		},
	}
}
