package main

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/tables"
	"github.com/zohosink/zohosink/preflight"
	"github.com/zohosink/zohosink/wiring"
	"github.com/zohosink/zohosink/zohoapi"
)

func newZohoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zoho",
		Short: "Look up Zoho CRM field metadata; exchange a grant code for a refresh token",
		Long: `Zoho commands talk to the Zoho CRM account of the configuration (zoho.data_center
or zoho.api_domain / zoho.accounts_url, zoho.client_id, zoho.client_secret).`,
		Args: cobra.NoArgs,
	}
	token := &cobra.Command{
		Use:   "token",
		Short: "OAuth token helpers",
		Args:  cobra.NoArgs,
	}
	token.AddCommand(newZohoTokenExchangeCommand())
	cmd.AddCommand(newZohoFieldsCommand(), token)
	return cmd
}

func newZohoFieldsCommand() *cobra.Command {
	var module string
	cmd := &cobra.Command{
		Use:   "fields [--module M]",
		Short: "The module's fields: API names, types, lengths, mandatory/read-only/unique flags",
		Long: `Fields reads the module's field metadata (Zoho "Fields Metadata" API,
GET /crm/v8/settings/fields) and prints one row per field: the API name to use
in mapping.fields[].to, the data type, the maximum length, and whether the field
is system-mandatory, read-only or unique. Layout-mandatory fields (Company in
the standard Leads layout) are not flagged by this API. One call costs one API
credit; the refresh token needs scope ZohoCRM.settings.fields.READ.`,
		Example: `  consumer zoho fields --config zohosink.yaml
  consumer zoho fields --module Contacts -c zohosink.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfigScoped(cmd, zohoKey)
			if err != nil {
				return err
			}
			if module == "" {
				module = cfg.Zoho.Module
			}
			client, err := wiring.ZohoClient(cfg, zap.NewNop())
			if err != nil {
				return err
			}
			fields, err := client.Fields(cmd.Context(), module)
			if err != nil {
				return preflight.FieldsCallError(err, cfg, module)
			}
			out := cmd.OutOrStdout()
			t := tables.New(out)
			t.Header("api_name", "data_type", "length", "mandatory", "read-only", "unique")
			yes := func(b bool) string {
				if b {
					return "yes"
				}
				return ""
			}
			for _, f := range fields {
				_ = t.Append(f.APIName, f.DataType, f.Length, yes(f.SystemMandatory), yes(f.ReadOnly), yes(f.Unique))
			}
			_ = t.Render()
			fmt.Fprintf(out, "%d fields of module %s. mandatory: system-mandatory (required when a record is inserted); layout-mandatory fields are not shown by this API.\n", len(fields), module)
			return nil
		},
	}
	cmd.Flags().StringVarP(&module, "module", "m", "", "module API name, case-sensitive (default zoho.module)")
	return cmd
}

func newZohoTokenExchangeCommand() *cobra.Command {
	var code string
	cmd := &cobra.Command{
		Use:   "exchange --code GRANT_CODE",
		Short: "Turn a Self Client grant code into a refresh token (printed once)",
		Long: `Exchange trades a grant code for a refresh token at the configured data
center's accounts server (grant_type=authorization_code), the curl step of
Zoho's Self Client setup:

  1. In the Zoho API console (https://api-console.zoho.com for us; .eu, .in …
     for the other data centers) open the Self Client, tab "Generate Code".
  2. Scope: ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ,ZohoCRM.settings.layouts.READ;
     pick a duration.
  3. Run this command with the code within its lifetime (a few minutes; a
     code works once).

It needs zoho.client_id and zoho.client_secret (zoho.refresh_token may be
missing) and prints the refresh token once, on stdout only, never in a log.
Store it as a secret (ZOHOSINK_ZOHO_REFRESH_TOKEN) and keep it out of shell
history and files others can read.`,
		Example: `  ZOHOSINK_ZOHO_CLIENT_SECRET=... consumer zoho token exchange --code 1000.5d6c...e2 -c zohosink.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfigScoped(cmd, func(key string) bool {
				return strings.HasPrefix(key, "zoho.") && key != "zoho.refresh_token"
			})
			if err != nil {
				return err
			}
			eps, err := cfg.Endpoints()
			if err != nil {
				return err
			}
			hc := &http.Client{Timeout: cfg.Zoho.RequestTimeout}
			refresh, err := zohoapi.ExchangeCode(cmd.Context(), hc, eps, cfg.Zoho.ClientID, cfg.Zoho.ClientSecret.Value(), strings.TrimSpace(code))
			if err != nil {
				return fmt.Errorf("grant code exchange at %s: %s", eps.Accounts, preflight.ExchangeProblem(err, cfg, eps))
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Refresh token for client %s (accounts %s, API %s):\n\n", cfg.Zoho.ClientID, eps.Accounts, eps.API)
			fmt.Fprintf(out, "    %s\n\n", refresh)
			fmt.Fprintf(out, `It is shown only this once. Store it as a secret now, for example:
  - the environment variable %s of every "consumer run"
    (a Kubernetes Secret, your CI's or orchestrator's secret store), or
  - zoho.refresh_token in a configuration file only zohosink can read (mode 0600).
It does not expire, but it can be revoked in the Zoho API console. Then check
the whole setup: consumer config validate --online
`, config.EnvVar("zoho.refresh_token"))
			return nil
		},
	}
	cmd.Flags().StringVar(&code, "code", "", "the Self Client grant code (required; single use, valid a few minutes)")
	_ = cmd.MarkFlagRequired("code")
	return cmd
}
