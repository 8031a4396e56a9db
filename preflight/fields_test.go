package preflight

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zohosink/zohosink/config"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// zohoOnly is a valid configuration for the simulator sim, module module,
// whose Kafka part is never contacted (checkZoho only).
func zohoOnly(t *testing.T, sim *zohosim.Server, module string, dedupe []string, fields ...config.FieldMapping) *config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.Zoho.APIDomain, cfg.Zoho.AccountsURL = sim.URL(), sim.URL()
	cfg.Zoho.ClientID = sim.ClientID()
	cfg.Zoho.ClientSecret = config.Secret(sim.ClientSecret())
	cfg.Zoho.RefreshToken = config.Secret(sim.RefreshToken())
	cfg.Zoho.TokenCacheFile = ""
	cfg.Zoho.Module, cfg.Zoho.DuplicateCheckFields = module, dedupe
	cfg.Mapping.Fields = fields
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fieldChecks runs the Zoho checks and returns the messages of the fields
// section by status.
func fieldChecks(t *testing.T, cfg *config.Config) map[Status][]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := &Report{}
	checkZoho(ctx, r, cfg)
	out := map[Status][]string{}
	for _, sec := range r.Sections {
		if !strings.HasPrefix(sec.Title, "Zoho fields of module ") {
			continue
		}
		for _, c := range sec.Checks {
			out[c.Status] = append(out[c.Status], c.Message)
		}
	}
	return out
}

// has reports whether one of msgs contains every part.
func has(msgs []string, parts ...string) bool {
	for _, m := range msgs {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(m, p)
		}
		if all {
			return true
		}
	}
	return false
}

func newSim(t *testing.T, o zohosim.Options) *zohosim.Server {
	t.Helper()
	sim := zohosim.New(o)
	t.Cleanup(sim.Close)
	return sim
}

// TestFieldsLeadsLayoutMandatory: the Layouts API's default Leads layout
// makes Company mandatory, reported beside the system-mandatory Last_Name
// with where each is mapped from; every preset field passes.
func TestFieldsLeadsLayoutMandatory(t *testing.T) {
	got := fieldChecks(t, zohoOnly(t, newSim(t, zohosim.Options{}), "Leads", nil))
	if len(got[Fail]) != 0 || len(got[Warn]) != 0 {
		t.Fatalf("fail %q warn %q", got[Fail], got[Warn])
	}
	for _, want := range []string{
		"Company is mandatory in the default layout in Leads and mapped from traits.company",
		"Last_Name is system-mandatory in Leads and mapped from traits.lastName",
		"Company ← traits.company (text, length 200)",
		"Lead_Source ← properties.source (Lead Generated) (picklist, length 120)",
	} {
		if !has(got[Pass], want) {
			t.Errorf("no %q in %q", want, got[Pass])
		}
	}
}

// TestFieldsLayoutMandatoryNotMapped: a layout-mandatory field that nothing
// maps fails, naming it.
func TestFieldsLayoutMandatoryNotMapped(t *testing.T) {
	sim := newSim(t, zohosim.Options{})
	if err := sim.AddField("Contacts", zohosim.Field{APIName: "Region", DataType: "picklist", PicklistValues: []string{"EMEA", "APAC"}, LayoutMandatory: true}); err != nil {
		t.Fatal(err)
	}
	got := fieldChecks(t, zohoOnly(t, sim, "Contacts", nil))
	if len(got[Fail]) != 1 || !has(got[Fail], "Region is mandatory in the default layout in Contacts but nothing maps to it", "to: Region") {
		t.Fatalf("fail %q", got[Fail])
	}
	// Mapped by a constant, it passes.
	got = fieldChecks(t, zohoOnly(t, sim, "Contacts", nil, config.FieldMapping{Value: "EMEA", To: "Region"}))
	if len(got[Fail]) != 0 || !has(got[Pass], `Region is mandatory in the default layout in Contacts and mapped from the constant "EMEA"`) {
		t.Fatalf("fail %q pass %q", got[Fail], got[Pass])
	}
}

// TestFieldsContactsPreset: the Contacts preset's Account_Name lookup by
// name is allowed; a mapping of text into that lookup is refused naming the
// key and the type; a checkbox (boolean) and a date mapping are accepted.
func TestFieldsContactsPreset(t *testing.T) {
	cfg := zohoOnly(t, newSim(t, zohosim.Options{}), "Contacts", nil,
		config.FieldMapping{From: "traits.newsletter", To: "Email_Opt_Out"},
		config.FieldMapping{From: "traits.birthday", To: "Date_of_Birth"},
		config.FieldMapping{From: "traits.account", To: "Account_Name"},
	)
	got := fieldChecks(t, cfg)
	if len(got[Fail]) != 1 || !has(got[Fail], "mapping.fields[2].to: field Account_Name is of type lookup, which zohosink does not write") {
		t.Fatalf("fail %q", got[Fail])
	}
	for _, want := range []string{
		`Account_Name ← traits.company (lookup, sent by name as {"name": …})`,
		"Email_Opt_Out ← traits.newsletter (boolean, length 5)",
		"Date_of_Birth ← traits.birthday (date, length 20)",
		"Last_Name is system-mandatory in Contacts and mapped from traits.lastName",
	} {
		if !has(got[Pass], want) {
			t.Errorf("no %q in %q", want, got[Pass])
		}
	}
	if has(got[Pass], "Company") || has(got[Warn], "Company") {
		t.Errorf("Contacts checked for a Company field: %q %q", got[Pass], got[Warn])
	}
}

// TestFieldsConstants: a constant outside a picklist's values warns, one
// inside passes, one that the field's type cannot take fails.
func TestFieldsConstants(t *testing.T) {
	cfg := zohoOnly(t, newSim(t, zohosim.Options{}), "Leads", nil,
		config.FieldMapping{Value: "Billboard", To: "Lead_Source"},
		config.FieldMapping{Value: "Not Contacted", To: "Lead_Status"},
		config.FieldMapping{Value: "many", To: "No_of_Employees"},
	)
	got := fieldChecks(t, cfg)
	if len(got[Warn]) != 1 || !has(got[Warn], `mapping.fields[0].value: "Billboard" is not one of the values of the picklist Lead_Source (-None-, Advertisement`) {
		t.Errorf("warn %q", got[Warn])
	}
	if len(got[Fail]) != 1 || !has(got[Fail], `mapping.fields[2].value: "many" cannot be written into No_of_Employees (integer): not_a_number`) {
		t.Errorf("fail %q", got[Fail])
	}
	if !has(got[Pass], `Lead_Status ← the constant "Not Contacted" (picklist`) {
		t.Errorf("pass %q", got[Pass])
	}
	// A constant that fails is only ✗, never also ✓.
	if has(got[Pass], `No_of_Employees ← the constant`) {
		t.Errorf("pass %q also passes the constant that fails", got[Pass])
	}
	if !has(got[Fail], "every record would leave the field out (mapping.invalid_values: omit)") {
		t.Errorf("fail %q does not say what omit does", got[Fail])
	}
	cfg.Mapping.InvalidValues = "dead_letter"
	if got := fieldChecks(t, cfg); !has(got[Fail], "every record would be dead-lettered with INVALID_DATA (mapping.invalid_values: dead_letter)") {
		t.Errorf("dead_letter: fail %q", got[Fail])
	}
}

// TestFieldsWithoutLayoutsScope: a token without
// ZohoCRM.settings.layouts.READ gets a hint naming the scope; the field and
// system-mandatory checks still run.
func TestFieldsWithoutLayoutsScope(t *testing.T) {
	sim := newSim(t, zohosim.Options{Scope: "ZohoCRM.modules.ALL,ZohoCRM.settings.fields.READ"})
	got := fieldChecks(t, zohoOnly(t, sim, "Leads", nil))
	if len(got[Warn]) != 1 || !has(got[Warn], "layouts: the refresh token's scope lacks ZohoCRM.settings.layouts.READ (OAUTH_SCOPE_MISMATCH)", GrantScope) {
		t.Errorf("warn %q", got[Warn])
	}
	if len(got[Fail]) != 0 || !has(got[Pass], "Last_Name is system-mandatory in Leads") || !has(got[Pass], "Email ← traits.email") {
		t.Errorf("fail %q pass %q", got[Fail], got[Pass])
	}
	if has(got[Pass], "Company is mandatory") {
		t.Errorf("layout checked without layouts: %q", got[Pass])
	}
}

// TestFieldsCustomModule: a custom module gets the Email preset only; its
// lookup is refused, every other type accepted, a missing target fails
// naming the key, and its unmapped system-mandatory field fails.
func TestFieldsCustomModule(t *testing.T) {
	sim := newSim(t, zohosim.Options{})
	sim.AddModule("Subscriptions", append(zohosim.FieldsOfEveryType(), zohosim.Field{APIName: "Email", DataType: "email", Unique: true}))
	var maps []config.FieldMapping
	for _, f := range zohosim.FieldsOfEveryType()[1:] {
		maps = append(maps, config.FieldMapping{From: "traits." + f.APIName, To: f.APIName})
	}
	maps = append(maps, config.FieldMapping{From: "traits.x", To: "Nope"})
	got := fieldChecks(t, zohoOnly(t, sim, "Subscriptions", []string{"Email"}, maps...))
	lookup, missing := len(maps)-2, len(maps)-1
	for _, want := range []string{
		fmt.Sprintf("mapping.fields[%d].to: field Lookup_Field is of type lookup", lookup),
		fmt.Sprintf(`mapping.fields[%d].to: "Nope" is not a field of Subscriptions`, missing),
		"Text_Field is system-mandatory in Subscriptions but nothing maps to it",
	} {
		if !has(got[Fail], want) {
			t.Errorf("no %q in %q", want, got[Fail])
		}
	}
	if len(got[Fail]) != 3 || len(got[Warn]) != 0 {
		t.Errorf("fail %q warn %q", got[Fail], got[Warn])
	}
	for _, f := range []string{"Email ←", "Multiselectpicklist_Field ←", "Currency_Field ←", "Boolean_Field ←", "Datetime_Field ←"} {
		if !has(got[Pass], f) {
			t.Errorf("no %q in %q", f, got[Pass])
		}
	}
	if has(got[Pass], "First_Name") || has(got[Warn], "First_Name") {
		t.Error("person fields checked in a custom module")
	}

	// Without an Email field every record would be rejected: ✗.
	sim.AddModule("Plans", zohosim.FieldsOfEveryType())
	got = fieldChecks(t, zohoOnly(t, sim, "Plans", []string{"Text_Field"}, config.FieldMapping{From: "traits.plan", To: "Text_Field"}))
	if len(got[Fail]) != 1 || !has(got[Fail], `preset: "Email" is not a field of Plans`) {
		t.Errorf("fail %q", got[Fail])
	}
}

// TestFieldsListConstant: a list constant (a multi-select constant) into a
// field of another type fails at its mapping.fields[i].value, shown as the
// JSON it would be.
func TestFieldsListConstant(t *testing.T) {
	cfg := zohoOnly(t, newSim(t, zohosim.Options{}), "Leads", nil,
		config.FieldMapping{Value: []any{"Red", "Green"}, To: "Description"},
	)
	got := fieldChecks(t, cfg)
	if len(got[Fail]) != 1 || !has(got[Fail], `mapping.fields[0].value: ["Red","Green"] cannot be written into Description (textarea): wrong_type`) {
		t.Errorf("fail %q", got[Fail])
	}
}

// TestFieldsSayWhichValueIsSent: a mapping.fields entry into a preset's
// field says which value is sent: a constant always instead of the preset's
// value, an event value when it has one that converts.
func TestFieldsSayWhichValueIsSent(t *testing.T) {
	cfg := zohoOnly(t, newSim(t, zohosim.Options{}), "Leads", nil,
		config.FieldMapping{Value: "Web", To: "Lead_Source"},
		config.FieldMapping{From: "traits.mobile", To: "Phone"},
	)
	got := fieldChecks(t, cfg)
	for _, want := range []string{
		`Lead_Source ← properties.source (Lead Generated) (picklist, length 120); not sent: mapping.fields[0] (the constant "Web") is sent instead`,
		`Lead_Source ← the constant "Web" (picklist, length 120); sent instead of the preset's properties.source (Lead Generated)`,
		`Phone ← traits.phone (phone, length 30); sent only when mapping.fields[1] (traits.mobile) has no value that converts`,
		`Phone ← traits.mobile (phone, length 30); sent instead of the preset's traits.phone when the event has a value that converts`,
	} {
		if !has(got[Pass], want) {
			t.Errorf("pass %q lacks %q", got[Pass], want)
		}
	}
}
