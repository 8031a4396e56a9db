package zohoapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// Field is one field of a module, from the Fields metadata API (Zoho "Fields
// Metadata" v8; typed in crm-oas v8.0/fields.json). It carries what writing a
// value needs: the type, the limits and the flags.
type Field struct {
	// APIName is the name used in records ("Last_Name").
	APIName string
	// Label is the field's display_label (field_label when absent), for messages.
	Label string
	// DataType is Zoho's data_type: text, textarea, email, phone, website,
	// integer, bigint, double, decimal, currency, percent, boolean, date,
	// datetime, picklist, multiselectpicklist, lookup, ownerlookup,
	// fileupload, formula, autonumber, … (crm-oas v8.0/fields.json).
	DataType string
	// JSONType is Zoho's json_type, the JSON type of a value: string, integer,
	// double, boolean, jsonarray, jsonobject, … (mapping/fieldvalue converts
	// by DataType, which is finer: currency and percent are both double).
	JSONType string
	// Length is the maximum length: characters for text types, digits for
	// numbers (0 when not given). Zoho gives every field a positive length.
	Length int
	// DecimalPlace is the number of decimal places of a decimal, currency,
	// percent or double field (decimal_place; -1 when null or absent, as for
	// every non-number field).
	DecimalPlace int
	// SystemMandatory: required on insert by the system (Leads: Last_Name).
	// Layout-mandatory fields (Leads: Company) are not flagged here: see
	// [Client.Layouts].
	SystemMandatory bool
	// ReadOnly fields cannot be written: read_only or field_read_only.
	ReadOnly bool
	// Unique: the field rejects duplicates (Zoho "unique" is a non-empty object).
	Unique bool
	// Custom marks a user-defined field (custom_field).
	Custom bool
	// PicklistValues are the actual_value entries of pick_list_values
	// (display_value when actual_value is empty), in Zoho's order.
	PicklistValues []string
}

// fieldJSON is one item of fields[] (Fields API) or of
// layouts[].sections[].fields[] (Layouts API, which adds "required").
type fieldJSON struct {
	APIName         string          `json:"api_name"`
	DisplayLabel    string          `json:"display_label"`
	FieldLabel      string          `json:"field_label"`
	DataType        string          `json:"data_type"`
	JSONType        string          `json:"json_type"`
	Length          int             `json:"length"`
	DecimalPlace    *int            `json:"decimal_place"`
	SystemMandatory bool            `json:"system_mandatory"`
	ReadOnly        bool            `json:"read_only"`
	FieldReadOnly   bool            `json:"field_read_only"`
	CustomField     bool            `json:"custom_field"`
	Unique          json.RawMessage `json:"unique"`
	PickListValues  []struct {
		ActualValue  string `json:"actual_value"`
		DisplayValue string `json:"display_value"`
	} `json:"pick_list_values"`
	Required bool `json:"required"`
}

func (f *fieldJSON) field() Field {
	fd := Field{
		APIName: f.APIName, Label: f.DisplayLabel, DataType: f.DataType, JSONType: f.JSONType,
		Length: f.Length, DecimalPlace: -1, SystemMandatory: f.SystemMandatory,
		ReadOnly: f.ReadOnly || f.FieldReadOnly, Unique: isNonEmptyObject(f.Unique), Custom: f.CustomField,
	}
	if fd.Label == "" {
		fd.Label = f.FieldLabel
	}
	if f.DecimalPlace != nil {
		fd.DecimalPlace = *f.DecimalPlace
	}
	for _, p := range f.PickListValues {
		v := p.ActualValue
		if v == "" {
			v = p.DisplayValue
		}
		fd.PicklistValues = append(fd.PicklistValues, v)
	}
	return fd
}

// Fields returns the fields of module (GET {api}/crm/v8/settings/fields?module=M;
// Zoho doc "Fields Metadata", scope ZohoCRM.settings.fields.READ). Errors as
// for Upsert; a 2xx body that is not the documented shape is an *APIError
// wrapping ErrMalformedResponse. HTTP 204 returns no fields and no error.
func (c *Client) Fields(ctx context.Context, module string) ([]Field, error) {
	var fr struct {
		Fields []fieldJSON `json:"fields"`
	}
	if ok, err := c.getSettings(ctx, "fields", module, &fr); !ok {
		return nil, err
	}
	out := make([]Field, 0, len(fr.Fields))
	for i := range fr.Fields {
		out = append(out, fr.Fields[i].field())
	}
	return out, nil
}

// Layout is one layout of a module, from the Layouts API (Zoho "Layouts API"
// v8, GET /crm/v8/settings/layouts?module=M; crm-oas v8.0/layouts.json
// schemas layouts, sections, fields).
type Layout struct {
	// ID and Name identify the layout ("Standard").
	ID, Name string
	// Status is Zoho's status: "active" or "inactive" (deactivated layouts
	// take no new records).
	Status string
	// Default: a profile uses this layout by default (profiles[].default).
	// Records upserted without a "Layout" field go to the default layout.
	Default bool
	// Required are the API names of the fields the layout marks required
	// (sections[].fields[].required), in layout order: mandatory on insert
	// through this layout (MANDATORY_NOT_FOUND), like Company in the default
	// Leads layout, although the Fields API does not flag them.
	Required []string
	// Fields are the layout's fields in layout order, typed as by [Client.Fields].
	Fields []Field
}

// Layouts returns the layouts of module (GET
// {api}/crm/v8/settings/layouts?module=M; Zoho doc "Layouts API", scope
// ZohoCRM.settings.layouts.READ or ZohoCRM.settings.ALL). Errors as for
// [Client.Fields]; HTTP 204 returns no layouts and no error.
func (c *Client) Layouts(ctx context.Context, module string) ([]Layout, error) {
	var lr struct {
		Layouts []struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			Status   string `json:"status"`
			Profiles []struct {
				Default bool `json:"default"`
			} `json:"profiles"`
			Sections []struct {
				Fields []fieldJSON `json:"fields"`
			} `json:"sections"`
		} `json:"layouts"`
	}
	if ok, err := c.getSettings(ctx, "layouts", module, &lr); !ok {
		return nil, err
	}
	out := make([]Layout, 0, len(lr.Layouts))
	for _, l := range lr.Layouts {
		lo := Layout{ID: l.ID, Name: l.Name, Status: l.Status}
		for _, p := range l.Profiles {
			lo.Default = lo.Default || p.Default
		}
		for _, s := range l.Sections {
			for i := range s.Fields {
				f := &s.Fields[i]
				lo.Fields = append(lo.Fields, f.field())
				if f.Required {
					lo.Required = append(lo.Required, f.APIName)
				}
			}
		}
		out = append(out, lo)
	}
	return out, nil
}

// LayoutMandatory returns the fields that an insert without a "Layout" field
// must carry (the system-mandatory ones included, as layouts mark them
// required too): the Required fields of the first active default layout (the
// first active layout when none is marked default); nil when there is no
// active layout.
func LayoutMandatory(layouts []Layout) []string {
	var first *Layout
	for i := range layouts {
		l := &layouts[i]
		if l.Status != "" && l.Status != "active" {
			continue
		}
		if l.Default {
			return l.Required
		}
		if first == nil {
			first = l
		}
	}
	if first == nil {
		return nil
	}
	return first.Required
}

// getSettings GETs {api}/crm/v8/settings/{what}?module=M into v. It returns
// false with the error (nil for HTTP 204, which has no body) when v was not
// filled.
func (c *Client) getSettings(ctx context.Context, what, module string, v any) (bool, error) {
	if module == "" {
		return false, ErrNoModule
	}
	u := c.api + "/crm/v8/settings/" + what + "?module=" + url.QueryEscape(module)
	status, hdr, body, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	if status < 200 || status > 299 {
		remaining, reported := creditsRemaining(hdr)
		return false, withCredits(requestError(status, body), remaining, reported)
	}
	if status == http.StatusNoContent {
		return false, nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, malformed(status, body, what+" body is not the documented shape")
	}
	return true, nil
}

// isNonEmptyObject reports whether raw is a JSON object with at least one key,
// or the literal true.
func isNonEmptyObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	if string(t) == "true" {
		return true
	}
	if len(t) < 2 || t[0] != '{' {
		return false
	}
	return len(bytes.TrimSpace(t[1:len(t)-1])) > 0
}
