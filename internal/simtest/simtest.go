// Package simtest is test support shared by the packages whose tests run
// events through to the Zoho simulator (zohoapi/zohosim): website events as
// the pipeline reads them (Event), a Zoho client of a simulator, and one
// example value per field type of zohosim.FieldsOfEveryType, as an event
// carries it and as Zoho stores it once converted (mapping/fieldvalue).
// Tests only; the product never imports it.
package simtest

import (
	"testing"

	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// Client returns a Zoho client of sim, authorised with sim's own OAuth
// client and refresh token. It fails t when sim's URL does not resolve.
func Client(t testing.TB, sim *zohosim.Server) *zohoapi.Client {
	t.Helper()
	eps, err := zohoapi.ResolveEndpoints("", sim.URL(), sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	ts := zohoapi.NewTokenSource(zohoapi.TokenSourceOptions{Endpoints: eps,
		Credentials: zohoapi.Credentials{ClientID: sim.ClientID(), ClientSecret: sim.ClientSecret(), RefreshToken: sim.RefreshToken()}})
	return zohoapi.NewClient(zohoapi.ClientOptions{Endpoints: eps, Tokens: ts})
}

// Example is one value of a field type: In as an event carries it (JSON),
// Stored as Zoho holds it once converted by the field's type (JSON).
type Example struct{ In, Stored string }

// EveryType returns, per field API name of zohosim.FieldsOfEveryType (its
// lookup field excepted), an event value that Zoho refuses as sent (every
// one but Text_Field's padded text, which Zoho takes as it is) and what it
// stores once converted. A new map each call.
func EveryType() map[string]Example {
	return map[string]Example{
		"Text_Field":                {`"  Acme  "`, `"Acme"`},
		"Textarea_Field":            {`42`, `"42"`},
		"Email_Field":               {`" jane@example.com "`, `"jane@example.com"`},
		"Phone_Field":               {`442079460000`, `"442079460000"`},
		"Website_Field":             {`" https://example.com "`, `"https://example.com"`},
		"Picklist_Field":            {`7`, `"7"`},
		"Multiselectpicklist_Field": {`"Red, Blue"`, `["Red","Blue"]`},
		"Integer_Field":             {`"12"`, `12`},
		"Bigint_Field":              {`"1234567"`, `1234567`},
		"Double_Field":              {`"3.25"`, `3.25`},
		"Decimal_Field":             {`"2.5"`, `2.5`},
		"Currency_Field":            {`"1999.999"`, `2000`},
		"Percent_Field":             {`"12.5%"`, `12.5`},
		"Boolean_Field":             {`"yes"`, `true`},
		"Date_Field":                {`"2026-11-28T10:00:00+01:00"`, `"2026-11-28"`},
		"Datetime_Field":            {`"2026-11-28T10:00:00.250Z"`, `"2026-11-28T10:00:00+00:00"`},
	}
}
