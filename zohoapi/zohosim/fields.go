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
	// PicklistValues are the actual values of a picklist field.
	PicklistValues []string
	// Custom marks a user-defined field (custom_field in metadata).
	Custom bool

	id string
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
// case-sensitive API names, e.g. "Deals"). It is a no-op returning false if the
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
	return map[string]any{
		"api_name":         f.APIName,
		"field_label":      f.Label,
		"display_label":    f.Label,
		"data_type":        f.DataType,
		"json_type":        jsonType(f.DataType),
		"length":           f.Length,
		"system_mandatory": f.SystemMandatory,
		"read_only":        f.ReadOnly,
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

func (s *Server) fieldsAnswer(h http.Header, name string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.FieldsCalls++
	if name == "" {
		return http.StatusBadRequest, errorItem("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing", map[string]any{"param": "module"})
	}
	m, ok := s.modules[name]
	if !ok {
		return http.StatusBadRequest, errorItem("INVALID_MODULE", msgInvalidModule, map[string]any{"param_name": "module"})
	}
	if !s.chargeLocked(h, 1) {
		return http.StatusTooManyRequests, errorItem("TOO_MANY_REQUESTS", msgCreditsExhaust, nil)
	}
	out := make([]map[string]any, len(m.fields))
	for i, f := range m.fields {
		out[i] = f.metadata()
	}
	return http.StatusOK, map[string]any{"fields": out}
}
