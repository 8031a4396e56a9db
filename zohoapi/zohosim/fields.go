package zohosim

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Field describes one field of a module, as the Fields metadata API
// (GET /crm/v8/settings/fields?module=…) reports it, plus the simulator-only
// LayoutMandatory flag.
type Field struct {
	// APIName is the field API name records are keyed by, e.g. "Last_Name".
	APIName string
	// Label is the display label; default APIName with "_" replaced by " ".
	Label string
	// DataType is Zoho's data_type: text, textarea, email, phone, website,
	// picklist, multiselectpicklist, integer, bigint, double, currency,
	// decimal, percent, boolean, date, datetime. Other types are accepted
	// without value checks.
	DataType string
	// Length is the maximum length in characters (Unicode code points) of a
	// value, reported as "length" and checked for text-like types (text,
	// textarea, email, phone, website, picklist, date, datetime) and integers
	// (digits). Zoho reports a positive length for every field (crm-oas
	// v8.0/fields.json; a public sample has 5 for the boolean Email_Opt_Out
	// and 20 for the date Date_of_Birth), so 0 means the data type's default:
	// see [DefaultLength].
	Length int
	// SystemMandatory fields must be present and non-empty on insert and may
	// not be cleared on update (MANDATORY_NOT_FOUND).
	SystemMandatory bool
	// LayoutMandatory fields are mandatory in the default layout: required on
	// insert only (MANDATORY_NOT_FOUND with details.layout_rule). The Fields
	// API does not report this flag (it comes from the Layouts API).
	LayoutMandatory bool
	// ReadOnly is reported in metadata only; writes are not refused
	// (Zoho's upsert behaviour for read-only fields is unconfirmed).
	ReadOnly bool
	// Unique fields refuse a value another record already has (DUPLICATE_DATA),
	// comparing case-insensitively, and take part in default dedupe matching
	// after Email. Reported as "unique":{"casesensitive":"false"} (a string, as
	// crm-oas v8.0/fields.json and the SDKs' Unique model type it); non-unique
	// fields report "unique":{}.
	Unique bool
	// DecimalPlace is the decimal_place of a double, decimal, currency or
	// percent field: 0 means 2 (Zoho's default for currency), [NoDecimals]
	// means none. Other types report decimal_place null.
	DecimalPlace int
	// PicklistValues are the actual values of a picklist or
	// multiselectpicklist field.
	PicklistValues []string
	// Custom marks a user-defined field (custom_field in metadata).
	Custom bool

	id string
}

// NoDecimals as [Field.DecimalPlace] makes a number field report
// decimal_place 0.
const NoDecimals = -1

// decimalPlace is the decimal_place the field reports, -1 for null.
func (f *Field) decimalPlace() int {
	switch f.DataType {
	case "double", "decimal", "currency", "percent":
		switch {
		case f.DecimalPlace == 0:
			return 2
		case f.DecimalPlace < 0:
			return 0
		}
		return f.DecimalPlace
	}
	return -1
}

// FieldsOfEveryType returns one custom field of each data type the simulator
// checks (see "Value checks by data type"), named after its type
// ("Text_Field", "Bigint_Field", …), for a custom module made with
// [Server.AddModule]: text (length 20), textarea, email, phone, website,
// picklist (values "Free", "Pro"), multiselectpicklist (values "Red",
// "Green", "Blue"), integer, bigint, double, decimal, currency (2 decimal
// places), percent, boolean, date, datetime, plus a lookup to Accounts.
// The first, Text_Field, is system-mandatory.
func FieldsOfEveryType() []Field {
	f := func(dataType string) Field {
		name := strings.ToUpper(dataType[:1]) + dataType[1:] + "_Field"
		return Field{APIName: name, DataType: dataType, Custom: true}
	}
	fields := []Field{}
	for _, t := range []string{"text", "textarea", "email", "phone", "website", "picklist", "multiselectpicklist",
		"integer", "bigint", "double", "decimal", "currency", "percent", "boolean", "date", "datetime", "lookup"} {
		fields = append(fields, f(t))
	}
	fields[0].Length, fields[0].SystemMandatory = 20, true
	fields[5].PicklistValues = []string{"Free", "Pro"}
	fields[6].PicklistValues = []string{"Red", "Green", "Blue"}
	return fields
}

// ErrUnknownModule is returned by [Server.AddField] for a module the simulator
// does not have.
var ErrUnknownModule = errors.New("zohosim: unknown module")

// ErrFieldExists is returned by [Server.AddField] for an API name the module
// already has.
var ErrFieldExists = errors.New("zohosim: field already exists")

// ErrUnknownField is returned by [Server.AddFieldDependency] for a field API
// name the module does not have.
var ErrUnknownField = errors.New("zohosim: unknown field")

// DefaultLength is the "length" a field of dataType reports when
// [Field.Length] is 0: boolean 5 and date 20 (Zoho's public fields sample),
// the rest the simulator's picks in the spirit of Zoho's standard fields
// (text and website 255, textarea 32000, email 100, phone 30, picklist 120,
// multiselectpicklist 2000, integer 9, bigint 18, double/currency/decimal 16,
// percent 5, datetime 120; others 255).
func DefaultLength(dataType string) int {
	switch dataType {
	case "boolean", "percent":
		return 5
	case "date":
		return 20
	case "textarea":
		return 32000
	case "email":
		return 100
	case "phone":
		return 30
	case "picklist", "datetime", "lookup", "ownerlookup":
		return 120
	case "multiselectpicklist":
		return 2000
	case "integer":
		return 9
	case "bigint":
		return 18
	case "double", "currency", "decimal":
		return 16
	}
	return 255
}

// FieldDependency is a picklist field dependency (Zoho "Field Dependency";
// crm-oas v8.0/field_map_dependency.json): the values Child may take depend
// on Parent's value. Upserting a record whose Child has a value while Parent
// has none (neither in the record nor, on update, stored) answers
// DEPENDENT_FIELD_MISSING; a Child value not in Allowed[Parent's value]
// answers DEPENDENT_MISMATCH. Both carry details api_name and json_path of
// Child and dependee {api_name, json_path} of Parent (crm-oas
// v8.0/common.json DependentFieldDetails).
type FieldDependency struct {
	// Parent and Child are field API names, e.g. "Country" and "State".
	Parent, Child string
	// Allowed maps a Parent value to the Child values it allows; a Parent
	// value without an entry allows none.
	Allowed map[string][]string
}

type module struct {
	name    string
	id      string
	fields  []*Field
	deps    []FieldDependency
	byName  map[string]*Field
	records []*record
	byID    map[string]*record
	// index: field API name → normalized value → record, for unique fields
	// (Email included); other fields are matched by a scan.
	index map[string]map[string]*record
}

type record struct {
	id       string
	values   map[string]any
	created  time.Time
	modified time.Time
}

func newModule(name, id string, fields []Field) *module {
	m := &module{name: name, id: id, byName: map[string]*Field{}, byID: map[string]*record{}, index: map[string]map[string]*record{}}
	for i := range fields {
		f := fields[i]
		f.id = fmt.Sprintf("%s%06d", id[:13], 2000+i)
		m.add(&f)
	}
	return m
}

func (m *module) add(f *Field) {
	if f.Label == "" {
		f.Label = strings.ReplaceAll(f.APIName, "_", " ")
	}
	if f.Length <= 0 {
		f.Length = DefaultLength(f.DataType)
	}
	f.PicklistValues = slices.Clone(f.PicklistValues)
	m.fields = append(m.fields, f)
	m.byName[f.APIName] = f
	if indexed(f) {
		idx := map[string]*record{}
		for _, r := range m.records {
			if v, ok := r.values[f.APIName]; ok {
				if k := normValue(v); k != "" {
					idx[k] = r
				}
			}
		}
		m.index[f.APIName] = idx
	}
}

func indexed(f *Field) bool { return f.Unique }

var leadSources = []string{"-None-", "Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "X (Twitter)", "Facebook", "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner", "Internal Seminar", "Trade Show", "Web Download", "Web Research", "Chat"}

// defaultModules returns Leads and Contacts with the standard fields of
// zoho-crm-api.md ("Fields metadata") plus common standard fields.
func defaultModules() map[string]*module {
	text := func(name string, n int) Field { return Field{APIName: name, DataType: "text", Length: n} }
	pick := func(name string, vals ...string) Field {
		return Field{APIName: name, DataType: "picklist", Length: 120, PicklistValues: vals}
	}
	leads := []Field{
		{APIName: "Last_Name", DataType: "text", Length: 80, SystemMandatory: true},
		text("First_Name", 40),
		{APIName: "Email", DataType: "email", Length: 100, Unique: true},
		{APIName: "Company", DataType: "text", Length: 200, LayoutMandatory: true},
		{APIName: "Phone", DataType: "phone", Length: 30},
		{APIName: "Mobile", DataType: "phone", Length: 30},
		pick("Lead_Source", leadSources...),
		pick("Lead_Status", "-None-", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead", "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified"),
		{APIName: "Description", DataType: "textarea", Length: 32000},
		{APIName: "Website", DataType: "website", Length: 255},
		pick("Salutation", "-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."),
		text("Title", 100),
		pick("Industry", "-None-", "ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)", "Government/Military", "Large Enterprise", "ManagementISV", "MSP (Management Service Provider)", "Network Equipment Enterprise", "Non-management ISV", "Optical Networking", "Service Provider", "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider", "Systems Integrator", "Wireless Industry"),
		pick("Rating", "-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"),
		{APIName: "Secondary_Email", DataType: "email", Length: 100},
		{APIName: "Fax", DataType: "phone", Length: 30},
		{APIName: "No_of_Employees", DataType: "integer", Length: 9},
		{APIName: "Annual_Revenue", DataType: "currency", Length: 16},
		{APIName: "Email_Opt_Out", DataType: "boolean", Length: 5},
		text("Skype_ID", 50),
		text("Twitter", 50),
		text("Street", 250),
		text("City", 100),
		text("State", 100),
		text("Zip_Code", 30),
		text("Country", 100),
	}
	contacts := []Field{
		{APIName: "Last_Name", DataType: "text", Length: 80, SystemMandatory: true},
		text("First_Name", 40),
		{APIName: "Email", DataType: "email", Length: 100, Unique: true},
		{APIName: "Secondary_Email", DataType: "email", Length: 100},
		// Account_Name is a lookup to Accounts: {"id": …} (or {"name": …},
		// unconfirmed), never a string.
		{APIName: "Account_Name", DataType: "lookup"},
		{APIName: "Phone", DataType: "phone", Length: 30},
		{APIName: "Mobile", DataType: "phone", Length: 30},
		{APIName: "Home_Phone", DataType: "phone", Length: 30},
		pick("Salutation", "-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."),
		text("Title", 100),
		text("Department", 100),
		pick("Lead_Source", leadSources...),
		{APIName: "Description", DataType: "textarea", Length: 32000},
		{APIName: "Date_of_Birth", DataType: "date", Length: 20},
		{APIName: "Email_Opt_Out", DataType: "boolean", Length: 5},
		text("Mailing_Street", 250),
		text("Mailing_City", 100),
		text("Mailing_State", 100),
		text("Mailing_Zip", 30),
		text("Mailing_Country", 100),
	}
	return map[string]*module{
		"Leads":    newModule("Leads", "4150868000000002175", leads),
		"Contacts": newModule("Contacts", "4150868000000002179", contacts),
	}
}

// AddField adds a field to a module (e.g. a custom field "Plan__c"). Records
// may carry it from then on. It returns [ErrUnknownModule] or [ErrFieldExists].
func (s *Server) AddField(moduleName string, f Field) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[moduleName]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownModule, moduleName)
	}
	if _, dup := m.byName[f.APIName]; dup || f.APIName == "" {
		return fmt.Errorf("%w: %s.%q", ErrFieldExists, moduleName, f.APIName)
	}
	f.id = fmt.Sprintf("%s%06d", m.id[:13], 5000+len(m.fields))
	m.add(&f)
	return nil
}

// AddFieldDependency adds a picklist dependency (see [FieldDependency]) to a
// module. It returns [ErrUnknownModule], or [ErrUnknownField] when Parent or
// Child is not a field of the module.
func (s *Server) AddFieldDependency(moduleName string, d FieldDependency) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[moduleName]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownModule, moduleName)
	}
	for _, name := range []string{d.Parent, d.Child} {
		if _, ok := m.byName[name]; !ok {
			return fmt.Errorf("%w: %s.%q", ErrUnknownField, moduleName, name)
		}
	}
	allowed := make(map[string][]string, len(d.Allowed))
	for k, v := range d.Allowed {
		allowed[k] = slices.Clone(v)
	}
	d.Allowed = allowed
	m.deps = append(m.deps, d)
	return nil
}

// dependencyErrors checks the module's field dependencies for one record
// (values vals; match is the record it updates, nil on insert; path gives a
// field's json_path).
func (m *module) dependencyErrors(vals map[string]any, match *record, path func(string) string) []map[string]any {
	var errs []map[string]any
	for _, d := range m.deps {
		child, _ := vals[d.Child].(string)
		if child == "" {
			continue
		}
		parentVal, given := vals[d.Parent]
		if !given && match != nil {
			parentVal = match.values[d.Parent]
		}
		parent, _ := parentVal.(string)
		details := map[string]any{
			"api_name": d.Child, "json_path": path(d.Child),
			"dependee": map[string]any{"api_name": d.Parent, "json_path": path(d.Parent)},
		}
		switch {
		case parent == "":
			errs = append(errs, errorItem("DEPENDENT_FIELD_MISSING", msgDependentMissing, details))
		case !slices.Contains(d.Allowed[parent], child):
			errs = append(errs, errorItem("DEPENDENT_MISMATCH", msgDependentMatch, details))
		}
	}
	return errs
}

// AddModule adds a module with the given fields (module names are
// case-sensitive API names, e.g. "Deals" or a custom "Subscriptions"; see
// [FieldsOfEveryType]). The Fields and Layouts APIs answer for it and upserts
// check its fields like those of Leads. It is a no-op returning false if the
// module exists.
func (s *Server) AddModule(name string, fields []Field) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.modules[name]; ok || name == "" {
		return false
	}
	s.modules[name] = newModule(name, s.newID(), fields)
	return true
}

// Fields returns a copy of a module's fields in metadata order (nil for an
// unknown module).
func (s *Server) Fields(moduleName string) []Field {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.modules[moduleName]
	if !ok {
		return nil
	}
	out := make([]Field, len(m.fields))
	for i, f := range m.fields {
		out[i] = *f
		out[i].PicklistValues = slices.Clone(f.PicklistValues)
	}
	return out
}

func jsonType(dataType string) string {
	switch dataType {
	case "integer":
		return "integer"
	case "bigint":
		return "long"
	case "double", "currency", "decimal", "percent":
		return "double"
	case "boolean":
		return "boolean"
	case "multiselectpicklist":
		return "jsonarray"
	case "lookup", "ownerlookup":
		return "jsonobject"
	default:
		return "string"
	}
}

func (f *Field) metadata() map[string]any {
	unique := map[string]any{}
	if f.Unique {
		unique["casesensitive"] = "false"
	}
	picks := make([]map[string]any, 0, len(f.PicklistValues))
	for i, v := range f.PicklistValues {
		picks = append(picks, map[string]any{
			"display_value":   v,
			"actual_value":    v,
			"reference_value": v,
			"sequence_number": i + 1,
			"type":            "used",
			"id":              fmt.Sprintf("%s%03d", f.id[:16], i),
		})
	}
	var decimals any // null, as Zoho reports for non-number fields
	if d := f.decimalPlace(); d >= 0 {
		decimals = d
	}
	return map[string]any{
		"api_name":         f.APIName,
		"field_label":      f.Label,
		"display_label":    f.Label,
		"data_type":        f.DataType,
		"json_type":        jsonType(f.DataType),
		"length":           f.Length,
		"decimal_place":    decimals,
		"system_mandatory": f.SystemMandatory,
		"read_only":        f.ReadOnly,
		"field_read_only":  f.ReadOnly,
		"custom_field":     f.Custom,
		"visible":          true,
		"unique":           unique,
		"pick_list_values": picks,
		"id":               f.id,
	}
}

// handleFields implements GET /crm/v8/settings/fields?module=M (Zoho "Fields
// Metadata" API). Missing module: 400 REQUIRED_PARAM_MISSING; unknown module:
// 400 INVALID_MODULE (top level; Zoho's exact details unconfirmed). Costs 1
// credit.
func (s *Server) handleFields(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeAPIError(w, http.StatusBadRequest, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one", nil)
		return
	}
	if !s.sleepUntil(r, s.answerTime(time.Now())) {
		return
	}
	name := r.URL.Query().Get("module")
	status, body := s.fieldsAnswer(w.Header(), name)
	writeJSON(w, status, body)
}

// metadataModuleLocked is the module a metadata call (Fields, Layouts) names,
// charged one credit, or nil with Zoho's error answer: REQUIRED_PARAM_MISSING
// without a module, INVALID_MODULE for an unknown one, TOO_MANY_REQUESTS when
// the credits are spent. Called with s.mu held.
func (s *Server) metadataModuleLocked(h http.Header, name string) (*module, int, any) {
	if name == "" {
		return nil, http.StatusBadRequest, errorItem("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", map[string]any{"param": "module"})
	}
	m, ok := s.modules[name]
	if !ok {
		return nil, http.StatusBadRequest, errorItem("INVALID_MODULE", msgInvalidModule, map[string]any{"param_name": "module"})
	}
	if !s.chargeLocked(h, 1) {
		return nil, http.StatusTooManyRequests, errorItem("TOO_MANY_REQUESTS", msgCreditsExhaust, nil)
	}
	return m, 0, nil
}

func (s *Server) fieldsAnswer(h http.Header, name string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.FieldsCalls++
	m, status, errBody := s.metadataModuleLocked(h, name)
	if m == nil {
		return status, errBody
	}
	out := make([]map[string]any, len(m.fields))
	for i, f := range m.fields {
		out[i] = f.metadata()
	}
	return http.StatusOK, map[string]any{"fields": out}
}

// handleLayouts implements GET /crm/v8/settings/layouts?module=M (Zoho
// "Layouts API" v8; crm-oas v8.0/layouts.json): one active layout
// "Standard", the default of the Administrator profile, with one section
// holding every field of the module as the Fields API reports it plus
// "required" (system-mandatory or [Field.LayoutMandatory]: Company in Leads).
// Errors and credits as for the Fields API.
func (s *Server) handleLayouts(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeAPIError(w, http.StatusBadRequest, "INVALID_REQUEST_METHOD", msgInvalidMethod, nil)
		return
	}
	if !s.sleepUntil(r, s.answerTime(time.Now())) {
		return
	}
	status, body := s.layoutsAnswer(w.Header(), r.URL.Query().Get("module"))
	writeJSON(w, status, body)
}

func (s *Server) layoutsAnswer(h http.Header, name string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.LayoutsCalls++
	m, status, errBody := s.metadataModuleLocked(h, name)
	if m == nil {
		return status, errBody
	}
	fields := make([]map[string]any, len(m.fields))
	for i, f := range m.fields {
		md := f.metadata()
		md["required"] = f.SystemMandatory || f.LayoutMandatory
		md["sequence_number"] = i + 1
		md["section_id"] = 1
		fields[i] = md
	}
	layoutID := m.id[:13] + "000091" // the id MANDATORY_NOT_FOUND's layout_rule names
	return http.StatusOK, map[string]any{"layouts": []any{map[string]any{
		"id": layoutID, "name": "Standard", "display_label": "Standard", "api_name": "Standard",
		"status": "active", "visible": true, "source": "crm", "generated_type": "default",
		"has_more_profiles": false, "show_business_card": false, "mode": nil,
		"profiles": []any{map[string]any{
			"default": true, "name": "Administrator", "id": m.id[:13] + "015972",
			"_default_view": map[string]any{"name": "Standard", "id": layoutID, "type": "layout"},
		}},
		"sections": []any{map[string]any{
			"api_name": m.name + "_Information", "display_label": m.name + " Information",
			"name": m.name + " Information", "sequence_number": 1, "isSubformSection": false,
			"column_count": 2, "tab_traversal": "left_to_right", "type": "used",
			"generated_type": "default", "id": m.id[:13] + "000092", "fields": fields,
		}},
	}}}
}
