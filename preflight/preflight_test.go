package preflight

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/internal/kafkatest"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// ready is a valid configuration for a fresh topic pair on the test broker
// and the simulator sim.
func ready(t *testing.T, sim *zohosim.Server) *config.Config {
	t.Helper()
	brokers := kafkatest.Brokers(t)
	cfg := config.Defaults()
	sec := kafkatest.Settings(brokers)
	cfg.Kafka.Brokers, cfg.Kafka.TLS, cfg.Kafka.SASL = brokers, sec.TLS, sec.SASL
	cfg.Kafka.Topics = []string{kafkatest.CreateTopic(t, brokers, 2)}
	cfg.Kafka.DLQTopic = kafkatest.CreateTopic(t, brokers, 1)
	cfg.Kafka.Group = cfg.Kafka.Topics[0] + "-group"
	cfg.Zoho.APIDomain, cfg.Zoho.AccountsURL = sim.URL(), sim.URL()
	cfg.Zoho.ClientID = sim.ClientID()
	cfg.Zoho.ClientSecret = config.Secret(sim.ClientSecret())
	cfg.Zoho.RefreshToken = config.Secret(sim.RefreshToken())
	cfg.Zoho.TokenCacheFile = ""
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func checks(r *Report, s Status) []string {
	var out []string
	for _, sec := range r.Sections {
		for _, c := range sec.Checks {
			if c.Status == s {
				out = append(out, c.Message)
			}
		}
	}
	return out
}

// TestRunReady: a deployable configuration passes every check, in the
// sections Zoho, Zoho fields, Kafka; a field mapped to a field the module
// lacks fails, naming the key and suggesting the near name.
func TestRunReady(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	t.Cleanup(sim.Close)
	cfg := ready(t, sim)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	r := Run(ctx, cfg)
	if r.Failed() != 0 {
		t.Fatalf("failed checks of a ready configuration: %q", checks(r, Fail))
	}
	var titles []string
	for _, s := range r.Sections {
		titles = append(titles, s.Title)
	}
	if len(titles) != 3 || !strings.HasPrefix(titles[0], "Zoho (explicit hosts") || titles[1] != "Zoho fields of module Leads" || !strings.HasPrefix(titles[2], "Kafka (brokers ") {
		t.Errorf("sections %q", titles)
	}

	cfg.Mapping.Fields = []config.FieldMapping{{From: "traits.phone", To: "phone"}}
	r = Run(ctx, cfg)
	failed := checks(r, Fail)
	if len(failed) != 1 || !strings.Contains(failed[0], `mapping.fields[0].to: "phone" is not a field of Leads (did you mean "Phone"?)`) {
		t.Errorf("failed checks %q", failed)
	}
}

// TestRunBadSecret: a wrong client secret fails the token in plain words,
// the field check is reported as not done, and Kafka is still checked.
func TestRunBadSecret(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	t.Cleanup(sim.Close)
	cfg := ready(t, sim)
	cfg.Zoho.ClientSecret = "wrong"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := Run(ctx, cfg)
	failed := checks(r, Fail)
	if len(failed) != 2 || !strings.Contains(failed[0], "zoho.client_secret is wrong") || failed[1] != "not checked: no access token" {
		t.Errorf("failed checks %q", failed)
	}
	if strings.Contains(strings.Join(failed, " "), "wrong\"") {
		t.Errorf("a check shows the secret: %q", failed)
	}
	if last := r.Sections[len(r.Sections)-1]; !strings.HasPrefix(last.Title, "Kafka") || len(last.Checks) == 0 {
		t.Errorf("Kafka was not checked after the Zoho failure: %+v", last)
	}
}

// TestFieldsCallError: a token failure of `zoho fields` is explained as the
// token's, anything else as the module's.
func TestFieldsCallError(t *testing.T) {
	cfg := config.Defaults()
	err := FieldsCallError(&zohoapi.TokenError{Code: "invalid_client_secret"}, cfg, "Leads")
	if !strings.HasPrefix(err.Error(), "access token: zoho.client_secret is wrong") {
		t.Errorf("token error: %v", err)
	}
	err = FieldsCallError(&zohoapi.APIError{Code: "INVALID_MODULE"}, cfg, "Leeds")
	if !strings.HasPrefix(err.Error(), `fields of module Leeds: zoho.module "Leeds" is not a module`) {
		t.Errorf("module error: %v", err)
	}
}
