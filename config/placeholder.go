package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/zohosink/zohosink/zohoapi"
)

// ErrPlaceholder is the Err of the *FieldError Validate reports for a
// credential that still holds a placeholder of the shipped examples.
var ErrPlaceholder = errors.New("still holds a placeholder value of the shipped examples")

// placeholderKeys are the credential keys checked for placeholders.
var placeholderKeys = []string{"zoho.client_id", "zoho.client_secret", "zoho.refresh_token", "kafka.sasl.password"}

// placeholder is a credential value the shipped examples show, and where.
type placeholder struct {
	value string
	where string
}

// examplePlaceholders are the credential values of the shipped examples that
// an operator must replace: no Zoho client or Kafka user has them. They are
// refused for every key of placeholderKeys (compared case-insensitively,
// spaces trimmed). TestPlaceholdersOfShippedExamples reads the examples, so
// this list cannot drift from them: every credential value shown there must
// be listed, and every value listed must be shown there.
var examplePlaceholders = []placeholder{
	{"1000.EXAMPLECLIENTID", "config/example.yaml, deploy/kubernetes/base/secret.example.yaml"},
	{"example-client-secret", "config/example.yaml, deploy/kubernetes/base/secret.example.yaml"},
	{"1000.example.refresh", "config/example.yaml, deploy/kubernetes/base/secret.example.yaml"},
	{"1000.XXXX", "README.md, deploy/kubernetes/base/kustomization.yaml"},
	{"1000.xxxx.yyyy", "README.md, deploy/kubernetes/base/kustomization.yaml"},
	{"...", "README.md, deploy/kubernetes/base/kustomization.yaml, consumer run --help, consumer zoho token exchange --help"},
	{"…API secret…", "README.md"},
}

// composeDemoCredentials are the credentials of the Zoho simulator's demo
// Self Client in deploy/zohosink.yaml (docker-compose.yml starts the
// simulator with them). They are real there, so they are accepted with
// hosts that are not Zoho's (a simulator), and refused as placeholders with
// Zoho's hosts, where they can never work.
var composeDemoCredentials = []placeholder{
	{"1000.COMPOSEDEMOCLIENT", "deploy/zohosink.yaml (the compose simulator's demo client)"},
	{"compose-demo-client-secret", "deploy/zohosink.yaml (the compose simulator's demo client)"},
	{"1000.compose-demo.refresh-token", "deploy/zohosink.yaml (the compose simulator's demo client)"},
}

// validatePlaceholders reports every credential of placeholderKeys that holds
// an example placeholder (examplePlaceholders; composeDemoCredentials when the
// accounts server is Zoho's), naming the key and the example it comes from,
// never the value of any credential.
func (c *Config) validatePlaceholders(p *problems) {
	values := map[string]string{
		"zoho.client_id":      c.Zoho.ClientID,
		"zoho.client_secret":  c.Zoho.ClientSecret.Value(),
		"zoho.refresh_token":  c.Zoho.RefreshToken.Value(),
		"kafka.sasl.password": c.Kafka.SASL.Password.Value(),
	}
	lists := [][]placeholder{examplePlaceholders}
	if eps, err := c.Endpoints(); err == nil {
		if _, zoho := zohoapi.DataCenterOfHost(eps.Accounts); zoho {
			lists = append(lists, composeDemoCredentials)
		}
	}
	for _, key := range placeholderKeys {
		v := strings.TrimSpace(values[key])
		if v == "" {
			continue
		}
		for _, list := range lists {
			for _, ph := range list {
				if !strings.EqualFold(v, ph.value) {
					continue
				}
				fix := "set the real value"
				if key != "zoho.client_id" {
					fix += ", preferably as " + EnvVar(key) + " (it is a secret)"
				}
				*p = append(*p, &FieldError{Key: key, Err: ErrPlaceholder, Problem: fmt.Sprintf("%v (%s): %s", ErrPlaceholder, ph.where, fix)})
			}
		}
	}
}
