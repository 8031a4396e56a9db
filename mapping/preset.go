package mapping

import "strings"

// Module API names that have a preset of their own (zoho.module).
const (
	ModuleLeads    = "Leads"
	ModuleContacts = "Contacts"
)

// standardModules are the API names of Zoho CRM's standard modules (Zoho
// CRM v8 "Modules API", GET /crm/v8/settings/modules: api_name; the
// names are case-sensitive), for the hint of canonicalModule.
var standardModules = []string{
	ModuleLeads, ModuleContacts, "Accounts", "Deals", "Campaigns", "Tasks", "Events", "Calls",
	"Products", "Quotes", "Sales_Orders", "Purchase_Orders", "Invoices", "Vendors", "Price_Books",
	"Cases", "Solutions", "Notes", "Appointments__s", "Services__s",
}

// canonicalModule returns the standard module whose API name equals module
// ignoring case but is spelled otherwise ("leads" → "Leads"), and whether
// there is one: Zoho's module names are case-sensitive, so "leads" is no
// module with a preset, and probably no module of the org at all.
func canonicalModule(module string) (string, bool) {
	for _, m := range standardModules {
		if m != module && strings.EqualFold(m, module) {
			return m, true
		}
	}
	return "", false
}

// presetSource is the event value a preset field takes.
type presetSource uint8

const (
	srcFirstName presetSource = iota + 1 // traits.firstName, else the words before the last of traits.name
	srcLastName                          // traits.lastName, else the last word of traits.name
	srcPhone                             // traits.phone
	srcCompany                           // traits.company: a string, or an object's name
	srcSource                            // properties.source, Lead Generated only
	srcFormName                          // properties.form_name, Lead Generated only
)

// presetSources describes each source for PresetFields.
var presetSources = map[presetSource]string{
	srcFirstName: "traits.firstName",
	srcLastName:  "traits.lastName",
	srcPhone:     "traits.phone",
	srcCompany:   "traits.company",
	srcSource:    "properties.source (Lead Generated)",
	srcFormName:  "properties.form_name (Lead Generated)",
}

// presetField is one field a module's preset writes after Email.
type presetField struct {
	name   string
	source presetSource
	// lookupByName: the field is a lookup and takes {"name": text}.
	lookupByName bool
}

// preset is what zohosink writes into one module besides mapping.fields.
type preset struct {
	// dedupe is the default zoho.duplicate_check_fields; nil: the module has
	// no default and the setting is required.
	dedupe []string
	fields []presetField
}

// presets are the module presets (DESIGN.md "Mapping"; Zoho's standard
// fields of each module as the Fields metadata API lists them). Email, the
// identity, comes first in every module and is not listed.
//
//   - Leads (the Lead Capture preset): First_Name, Last_Name, Phone, Company;
//     Lead Generated adds Lead_Source and Description.
//   - Contacts: First_Name, Last_Name (system-mandatory in Contacts as in
//     Leads), Phone, and Account_Name, the contact's account, a lookup to
//     Accounts, from the company trait as a lookup by name:
//     {"name":"Acme"} (zoho/crm-oas v8.0 record/operations/createRecords
//     examples: ContactsCreateExample sends "Account_Name":{"name",…,"id",…},
//     QuotesCreateExample a lookup by "name" alone; whether Zoho creates an
//     account that does not exist yet is unconfirmed). Contacts have no
//     Company field. Lead Generated adds Lead_Source (a standard picklist of
//     Contacts too, with the Leads values) and Description, as for Leads.
//   - Any other module, custom modules included: Email only (custom modules
//     have a standard Email field); person fields (names, phone, company)
//     are not assumed, mapping.fields map what the module has, and
//     zoho.duplicate_check_fields must name its dedupe fields.
var presets = map[string]preset{
	ModuleLeads: {dedupe: []string{FieldEmail}, fields: []presetField{
		{name: "First_Name", source: srcFirstName},
		{name: "Last_Name", source: srcLastName},
		{name: "Phone", source: srcPhone},
		{name: "Company", source: srcCompany},
		{name: "Lead_Source", source: srcSource},
		{name: "Description", source: srcFormName},
	}},
	ModuleContacts: {dedupe: []string{FieldEmail}, fields: []presetField{
		{name: "First_Name", source: srcFirstName},
		{name: "Last_Name", source: srcLastName},
		{name: "Phone", source: srcPhone},
		{name: "Account_Name", source: srcCompany, lookupByName: true},
		{name: "Lead_Source", source: srcSource},
		{name: "Description", source: srcFormName},
	}},
}

// presetOf returns the preset of module ("" is Leads).
func presetOf(module string) preset {
	if module == "" {
		module = ModuleLeads
	}
	return presets[module]
}

// PresetDuplicateCheckFields returns the module preset's default
// duplicate_check_fields: ["Email"] for Leads and Contacts (Zoho's system
// duplicate check of both, zoho-crm-api.md "Upsert Records"), nil for any
// other module (zoho.duplicate_check_fields is then required).
func PresetDuplicateCheckFields(module string) []string {
	d := presetOf(module).dedupe
	if d == nil {
		return nil
	}
	return append([]string(nil), d...)
}

// PresetField is a Zoho field a module's preset writes, with the event
// value it comes from.
type PresetField struct {
	// APIName is the Zoho field API name, e.g. "First_Name".
	APIName string
	// From describes the source, e.g. "traits.firstName", or
	// "properties.source (Lead Generated)" for a field only Lead Generated
	// writes.
	From string
	// LookupByName: the field is a lookup written as {"name": text}
	// (Contacts' Account_Name); the others are written as text.
	LookupByName bool
}

// PresetFields returns the fields the preset of module writes, Email first
// (see the presets table: Leads, Contacts; Email alone for any other
// module; "" is Leads).
func PresetFields(module string) []PresetField {
	p := presetOf(module)
	out := []PresetField{{APIName: FieldEmail, From: "traits.email"}}
	for _, f := range p.fields {
		out = append(out, PresetField{APIName: f.name, From: presetSources[f.source], LookupByName: f.lookupByName})
	}
	return out
}
