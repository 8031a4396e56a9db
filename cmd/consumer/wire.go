package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zohosink/zohosink/config"
)

// loadConfig loads --config plus the environment, listing every problem at once.
func loadConfig(cmd *cobra.Command) (*config.Config, error) {
	path, _ := cmd.Flags().GetString("config")
	cfg, err := config.Load(path, cmd.Flags())
	if err != nil {
		return cfg, fmt.Errorf("configuration is not valid:\n%w", err)
	}
	warnSecurity(cmd.ErrOrStderr(), cfg)
	return cfg, nil
}
