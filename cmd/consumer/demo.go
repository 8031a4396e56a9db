package main

import (
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/demo"
	"github.com/zohosink/zohosink/wiring"
)

func newDemoCommand() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job on embedded defaults: in-process Kafka, Zoho simulator, sample events",
		Long: `Demo needs no setup: it starts an in-process Kafka broker (franz-go kfake) and
the Zoho CRM simulator, produces the sample events of testdata/demo-events.ndjson
into the "events" topic, runs the pipeline until every event is committed, and
prints what reached Zoho, what was dead-lettered and why, and what it cost.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := zap.NewNop()
			if verbose {
				var err error
				if log, err = wiring.Logger("info", "console"); err != nil {
					return err
				}
			}
			return demo.Run(cmd.Context(), cmd.OutOrStdout(), log)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "log the pipeline's state changes while it runs")
	return cmd
}
