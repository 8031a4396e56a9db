package zohosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Upsert Records, POST {api}/crm/v8/{module}/upsert (Zoho "Upsert Records" v8).
//
// Processing order of one call:
//  1. host, Authorization: Zoho-oauthtoken …, permission (gateLocked) → 400
//     INVALID_HOST, 401 INVALID_TOKEN / OAUTH_SCOPE_MISMATCH, 403 NO_PERMISSION
//  2. method POST → else 400 INVALID_REQUEST_METHOD; module (case-sensitive)
//     → else 400 INVALID_MODULE (both inside "data" unless ConfigErrorsTopLevel)
//  3. the body is read; concurrency limit → 429 TOO_MANY_REQUESTS
//  4. latency, then at most one injected fault (hang, 5xx, 429)
//  5. body checks: JSON object with "data" of 1..100 objects; bad duplicate_check_fields
//     or trigger → 400 request-level error (no credit charged)
//  6. credits (1 per 10 records) → 429 when the daily budget is exhausted
//  7. records one by one, in input order (validation, dedupe, field
//     dependencies, an injected DEPENDENT_SERVICE_ERROR, insert/update)
//  8. 200 all succeeded, 207 mixed, 400 all failed — always with data[].

// Per-record messages (Zoho's texts).
const (
	msgInvalidData      = "invalid data"
	msgInvalidFieldName = "the field api name given seems to be invalid"
	msgMandatory        = "required field not found"
	msgDuplicate        = "duplicate data"
	msgMultiple         = "multiple errors occurred"       // unconfirmed text
	msgDependentMissing = "Dependent Fields missing"       // crm-oas v8.0/record.json error messages
	msgDependentMatch   = "dependent field value mismatch" // unconfirmed text
	msgDependentService = "dependent service error"        // unconfirmed text
)

// maxBodyBytes bounds an upsert body (100 records of 32,000-char descriptions
// fit comfortably).
const maxBodyBytes = 32 << 20

// triggerValues are the accepted "trigger" entries.
var triggerValues = []string{"workflow", "approval", "blueprint", "pathfinder", "orchestration"}

// emailPattern is the simulator's email check: local@domain.tld without
// spaces. Zoho's exact rule is undocumented; this refuses what Zoho refuses in
// practice ("jane", "jane@", "jane@example", "a b@c.d").
var emailPattern = regexp.MustCompile(`^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$`)

func (s *Server) handleUpsert(w http.ResponseWriter, r *http.Request, moduleName string) {
	rec := &statusRecorder{ResponseWriter: w}
	w = rec
	call := Call{Module: moduleName, Start: time.Now()}
	defer func() {
		call.End = time.Now()
		call.Status = rec.status
		s.mu.Lock()
		s.stats.UpsertCalls++
		s.stats.Status[call.Status]++
		s.calls = append(s.calls, call)
		s.mu.Unlock()
	}()

	s.mu.Lock()
	gateErr := s.gateLocked(r, "")
	_, moduleOK := s.modules[moduleName]
	topLevel := s.opts.ConfigErrorsTopLevel
	s.mu.Unlock()
	if gateErr != nil {
		call.Code = gateErr.code
		writeAPIError(w, gateErr.status, gateErr.code, gateErr.message, gateErr.details)
		return
	}
	configError := func(code, msg string) {
		call.Code = code
		item := errorItem(code, msg, nil)
		if topLevel {
			writeJSON(w, http.StatusBadRequest, item)
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"data": []any{item}})
	}
	if r.Method != http.MethodPost {
		configError("INVALID_REQUEST_METHOD", msgInvalidMethod)
		return
	}
	if !moduleOK {
		configError("INVALID_MODULE", msgInvalidModule)
		return
	}

	// The body is read before anything slow happens: net/http notices a client
	// that went away (and cancels r.Context) only once the body is consumed.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		call.Code = "INVALID_DATA"
		writeAPIError(w, http.StatusBadRequest, "INVALID_DATA", "the request body could not be read", nil)
		return
	}

	// Concurrency: the call counts as in progress from here until it answers.
	s.mu.Lock()
	s.apiLive++
	s.stats.PeakConcurrency = max(s.stats.PeakConcurrency, s.apiLive)
	if s.maxConcurrency > 0 && s.apiLive > s.maxConcurrency {
		s.apiLive--
		s.stats.ConcurrencyRejections++
		s.reportCreditsLocked(w.Header())
		s.mu.Unlock()
		call.Code = "TOO_MANY_REQUESTS"
		writeAPIError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS", msgConcurrency, nil)
		return
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.apiLive--
		s.mu.Unlock()
	}()

	due := s.answerTime(call.Start)
	s.mu.Lock()
	f, status := s.takeFaultLocked()
	s.mu.Unlock()
	switch f {
	case faultHang:
		call.Code = "HANG"
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	case faultStatus, faultThrottle:
		if s.sleepUntil(r, due) {
			call.Code = writeFault(w, status)
		}
		return
	}

	req, reqErr := parseUpsertBody(body)
	call.Records = len(req.records)
	call.DuplicateCheckFields = req.dupFields
	call.Trigger = req.trigger
	if reqErr != nil {
		call.Code = reqErr.code
		if s.sleepUntil(r, due) {
			writeJSON(w, reqErr.status, errorItem(reqErr.code, reqErr.message, reqErr.details))
		}
		return
	}

	code, respStatus, resp := s.applyUpsert(w.Header(), moduleName, req, &call)
	call.Code = code
	if s.sleepUntil(r, due) {
		writeJSON(w, respStatus, resp)
	}
}

type upsertRequest struct {
	records   []json.RawMessage
	dupFields []string
	trigger   []string
}

type requestError struct {
	status  int
	code    string
	message string
	details map[string]any
}

// parseUpsertBody checks the request-level shape of an upsert body. Errors
// (HTTP 400, no "data" in the answer):
//   - not a JSON object: INVALID_DATA (unconfirmed code)
//   - "data" missing, null or []: MANDATORY_NOT_FOUND api_name "data"
//     (unconfirmed for [])
//   - "data" not an array: INVALID_DATA expected_data_type "jsonarray"
//   - more than 100 records: LIMIT_EXCEEDED with details.limit 100 (unconfirmed;
//     the closest documented shape, per zoho-crm-api.md)
//   - duplicate_check_fields / trigger not arrays of strings, or trigger values
//     outside workflow/approval/blueprint/pathfinder/orchestration: INVALID_DATA
//
// Unknown field names in duplicate_check_fields are checked later against the
// module (INVALID_DATA).
func parseUpsertBody(body []byte) (upsertRequest, *requestError) {
	var req upsertRequest
	if !gjson.ValidBytes(body) || !gjson.ParseBytes(body).IsObject() {
		return req, &requestError{http.StatusBadRequest, "INVALID_DATA", "the request body is not a valid JSON object", map[string]any{}}
	}
	top := map[string]json.RawMessage{} // a repeated key keeps its last value, as with encoding/json
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		top[k.String()] = json.RawMessage(v.Raw)
		return true
	})
	if raw, ok := top["duplicate_check_fields"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &req.dupFields); err != nil {
			return req, &requestError{http.StatusBadRequest, "INVALID_DATA", msgInvalidData,
				map[string]any{"api_name": "duplicate_check_fields", "json_path": "$.duplicate_check_fields", "expected_data_type": "jsonarray"}}
		}
	}
	if raw, ok := top["trigger"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &req.trigger); err != nil {
			return req, &requestError{http.StatusBadRequest, "INVALID_DATA", msgInvalidData,
				map[string]any{"api_name": "trigger", "json_path": "$.trigger", "expected_data_type": "jsonarray"}}
		}
		if req.trigger == nil {
			req.trigger = []string{}
		}
		for i, t := range req.trigger {
			if !slices.Contains(triggerValues, t) {
				return req, &requestError{http.StatusBadRequest, "INVALID_DATA", msgInvalidData,
					map[string]any{"api_name": "trigger", "json_path": fmt.Sprintf("$.trigger[%d]", i), "supported_values": triggerValues}}
			}
		}
	}
	raw, ok := top["data"]
	if !ok || isNull(raw) {
		return req, &requestError{http.StatusBadRequest, "MANDATORY_NOT_FOUND", msgMandatory,
			map[string]any{"api_name": "data", "json_path": "$.data"}}
	}
	data := gjson.ParseBytes(raw)
	if !data.IsArray() {
		return req, &requestError{http.StatusBadRequest, "INVALID_DATA", msgInvalidData,
			map[string]any{"api_name": "data", "json_path": "$.data", "expected_data_type": "jsonarray"}}
	}
	data.ForEach(func(_, v gjson.Result) bool {
		req.records = append(req.records, json.RawMessage(v.Raw))
		return true
	})
	switch {
	case len(req.records) == 0:
		return req, &requestError{http.StatusBadRequest, "MANDATORY_NOT_FOUND", msgMandatory,
			map[string]any{"api_name": "data", "json_path": "$.data"}}
	case len(req.records) > MaxRecordsPerCall:
		return req, &requestError{http.StatusBadRequest, "LIMIT_EXCEEDED", "the number of records exceeds the limit",
			map[string]any{"api_name": "data", "json_path": "$.data", "limit": MaxRecordsPerCall}}
	}
	return req, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// applyUpsert charges credits and applies the records of one call. It
// returns the request-level code ("" when the answer has data[]), the HTTP
// status and the body.
func (s *Server) applyUpsert(h http.Header, moduleName string, req upsertRequest, call *Call) (string, int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modules[moduleName]
	s.stats.RecordsReceived += len(req.records)

	checkFields := req.dupFields
	for i, name := range checkFields {
		if _, ok := m.byName[name]; !ok {
			return "INVALID_DATA", http.StatusBadRequest, errorItem("INVALID_DATA", msgInvalidFieldName,
				map[string]any{"api_name": name, "json_path": fmt.Sprintf("$.duplicate_check_fields[%d]", i)})
		}
	}
	if len(checkFields) == 0 {
		checkFields = m.defaultCheckFields()
	}
	if !s.chargeLocked(h, CreditsFor(len(req.records))) {
		s.stats.CreditRejections++
		return "TOO_MANY_REQUESTS", http.StatusTooManyRequests, errorItem("TOO_MANY_REQUESTS", msgCreditsExhaust, nil)
	}

	now := s.now()
	// seen: check field → normalized value → record written earlier in this
	// call (for SameEmailReject).
	seen := map[string]map[string]*record{}
	items := make([]any, len(req.records))
	ok, failed := 0, 0
	call.Emails = make([]string, len(req.records))
	for i, raw := range req.records {
		item, email := s.upsertOneLocked(m, i, raw, checkFields, seen, now)
		call.Emails[i] = email
		items[i] = item
		if item["status"] == "success" {
			ok++
			if item["action"] == "insert" {
				call.Inserts++
			} else {
				call.Updates++
			}
		} else {
			failed++
			call.Errors++
			s.stats.RecordErrors++
			s.stats.RecordErrorCodes[item["code"].(string)]++
		}
	}
	s.stats.Inserts += call.Inserts
	s.stats.Updates += call.Updates
	status := http.StatusOK
	switch {
	case ok == 0:
		status = http.StatusBadRequest
	case failed > 0:
		status = http.StatusMultiStatus
	}
	return "", status, map[string]any{"data": items}
}

// defaultCheckFields: without duplicate_check_fields Zoho matches on the
// module's system unique field (Email for Leads and Contacts), then the
// user-defined unique fields.
func (m *module) defaultCheckFields() []string {
	var out []string
	if f, ok := m.byName["Email"]; ok && f.DataType == "email" {
		out = append(out, "Email")
	}
	for _, f := range m.fields {
		if f.Unique && f.APIName != "Email" {
			out = append(out, f.APIName)
		}
	}
	return out
}

// normValue is the comparison key of a value for dedupe and unique checks:
// strings compare case-insensitively (Zoho: Email matching is
// case-insensitive; assumed for other unique text fields too), other values
// by their JSON text. "" means empty (never matches).
func normValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.ToLower(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// upsertOneLocked validates and applies one record, returning its result item
// and its Email value (for Call.Emails).
func (s *Server) upsertOneLocked(m *module, i int, raw json.RawMessage, checkFields []string, seen map[string]map[string]*record, now time.Time) (map[string]any, string) {
	path := func(api string) string { return fmt.Sprintf("$.data[%d].%s", i, api) }
	keys, vals, raws, okObj := parseObject(raw)
	if !okObj {
		return errorItem("INVALID_DATA", msgInvalidData,
			map[string]any{"json_path": fmt.Sprintf("$.data[%d]", i), "expected_data_type": "jsonobject"}), ""
	}
	email, _ := vals["Email"].(string)

	var errs []map[string]any
	for _, k := range keys {
		f, known := m.byName[k]
		if !known {
			errs = append(errs, errorItem("INVALID_DATA", msgInvalidFieldName, map[string]any{"api_name": k, "json_path": path(k)}))
			continue
		}
		if e := s.checkValue(f, raws[k], i); e != nil {
			errs = append(errs, e)
		}
	}

	// Dedupe: the first check field with a value that matches a record.
	var match *record
	var dupField any // null in the answer when nothing matched
	for _, name := range checkFields {
		key := normValue(vals[name])
		if key == "" {
			continue
		}
		if r := m.find(name, key); r != nil {
			match, dupField = r, name
			break
		}
	}
	errs = append(errs, m.dependencyErrors(vals, match, path)...)
	if s.sameEmail == SameEmailReject {
		// Zoho's behaviour for two records with the same key in one call is
		// unconfirmed; in this mode the later one is refused.
		for _, name := range checkFields {
			key := normValue(vals[name])
			if first := seen[name][key]; key != "" && first != nil {
				errs = append(errs, s.duplicateError(m, name, path(name), first))
			}
		}
	}

	// Mandatory fields: system-mandatory ones on insert, and never cleared on
	// update; layout-mandatory ones (Leads: Company) on insert only.
	for _, f := range m.fields {
		v, given := vals[f.APIName]
		empty := v == nil || v == ""
		switch {
		case f.SystemMandatory && empty && (match == nil || given):
			errs = append(errs, errorItem("MANDATORY_NOT_FOUND", msgMandatory, map[string]any{"api_name": f.APIName, "json_path": path(f.APIName)}))
		case f.LayoutMandatory && empty && match == nil:
			// details.layout_rule is an assumption (zoho-crm-api.md: "maybe
			// layout_rule, id"); the id is the module's standard layout.
			errs = append(errs, errorItem("MANDATORY_NOT_FOUND", msgMandatory, map[string]any{
				"api_name": f.APIName, "json_path": path(f.APIName),
				"layout_rule": map[string]any{"id": m.id[:13] + "000091", "name": "Standard"},
			}))
		}
	}

	// Unique fields other than the match key may not collide with another record.
	for _, f := range m.fields {
		if !f.Unique || f.APIName == dupField {
			continue
		}
		key := normValue(vals[f.APIName])
		if key == "" {
			continue
		}
		if other := m.find(f.APIName, key); other != nil && other != match {
			errs = append(errs, s.duplicateError(m, f.APIName, path(f.APIName), other))
		}
	}

	switch len(errs) {
	case 0:
		if s.dependentServiceNext > 0 {
			s.dependentServiceNext--
			return errorItem("DEPENDENT_SERVICE_ERROR", msgDependentService,
				map[string]any{"dependency_error": s.dependencyError}), email
		}
	case 1:
		return errs[0], email
	default:
		return errorItem("MULTIPLE_OR_MULTI_ERRORS", msgMultiple, map[string]any{"errors": errs}), email
	}

	action, message := "update", "record updated"
	if match == nil {
		action, message = "insert", "record added"
		match = &record{id: s.newID(), values: map[string]any{}, created: now}
		m.records = append(m.records, match)
		m.byID[match.id] = match
	}
	m.set(match, keys, vals)
	match.modified = now
	for _, name := range checkFields {
		if key := normValue(vals[name]); key != "" {
			if seen[name] == nil {
				seen[name] = map[string]*record{}
			}
			if seen[name][key] == nil {
				seen[name][key] = match
			}
		}
	}
	user := s.minifiedUser()
	return map[string]any{
		"code":            "SUCCESS",
		"duplicate_field": dupField,
		"action":          action,
		"details": map[string]any{
			"Modified_Time": match.modified.In(s.loc).Format(zohoTime),
			"Modified_By":   user,
			"Created_Time":  match.created.In(s.loc).Format(zohoTime),
			"id":            match.id,
			"Created_By":    user,
		},
		"message": message,
		"status":  "success",
	}, email
}

// zohoTime is Zoho's ISO 8601 time format, e.g. "2020-10-14T10:31:43+05:30".
const zohoTime = "2006-01-02T15:04:05-07:00"

// duplicateError is DUPLICATE_DATA for field api colliding with record other,
// whose Owner is the one simulated user.
func (s *Server) duplicateError(m *module, api, jsonPath string, other *record) map[string]any {
	return errorItem("DUPLICATE_DATA", msgDuplicate, map[string]any{
		"api_name":  api,
		"json_path": jsonPath,
		"duplicate_record": map[string]any{
			"id":     other.id,
			"Owner":  s.minifiedUser(),
			"module": map[string]any{"api_name": m.name, "id": m.id},
		},
		"more_records": false,
	})
}

// find returns the record whose field api has normalized value key.
func (m *module) find(api, key string) *record {
	if idx, ok := m.index[api]; ok {
		return idx[key]
	}
	for _, r := range m.records {
		if normValue(r.values[api]) == key {
			return r
		}
	}
	return nil
}

// set writes the given fields (null clears a field) and maintains the indexes.
func (m *module) set(r *record, keys []string, vals map[string]any) {
	for _, k := range keys {
		v := vals[k]
		if idx, ok := m.index[k]; ok {
			if old := normValue(r.values[k]); old != "" && idx[old] == r {
				delete(idx, old)
			}
			if nk := normValue(v); nk != "" {
				idx[nk] = r
			}
		}
		if v == nil {
			delete(r.values, k)
		} else {
			r.values[k] = v
		}
	}
}

// parseObject decodes a JSON object keeping the order of its keys (so errors
// come in input order). A repeated key keeps its last value. Values decode as
// encoding/json would into any (numbers as float64); raws keeps each value's
// JSON as sent, for the type checks (a bigint beyond 2^53 is checked exactly).
func parseObject(raw json.RawMessage) ([]string, map[string]any, map[string]gjson.Result, bool) {
	if !gjson.ValidBytes(raw) {
		return nil, nil, nil, false
	}
	obj := gjson.ParseBytes(raw)
	if !obj.IsObject() {
		return nil, nil, nil, false
	}
	var keys []string
	vals := map[string]any{}
	raws := map[string]gjson.Result{}
	obj.ForEach(func(k, v gjson.Result) bool {
		key := k.String()
		if _, dup := vals[key]; !dup {
			keys = append(keys, key)
		}
		vals[key] = v.Value()
		raws[key] = v
		return true
	})
	return keys, vals, raws, true
}

// Value checks by data type (Zoho "Fields Metadata" data types; formats as in
// zoho-crm-api.md "Fields metadata"). Every refusal is INVALID_DATA, "invalid
// data", with details api_name, json_path and one of:
//   - expected_data_type: the field's data_type ("jsonarray" for a
//     multiselectpicklist, "jsonobject" for a lookup) for a value of the
//     wrong JSON type or format:
//     text, textarea, email, phone, website, picklist: a JSON string (Zoho's
//     coercion of numbers into text fields is unconfirmed: refused); email:
//     local@domain.tld;
//     integer, bigint: a JSON number without fraction or exponent, within
//     32-bit (integer) or 64-bit (bigint) signed range (Zoho's coercion of
//     strings of digits is unconfirmed: refused);
//     double, decimal, currency, percent: a JSON number;
//     boolean: true or false;
//     date: "yyyy-MM-dd"; datetime: "yyyy-MM-ddTHH:mm:ss±HH:mm", the
//     documented format (other ISO 8601 forms such as "Z" or fractions:
//     unconfirmed, refused);
//     multiselectpicklist: a JSON array of strings;
//     lookup, ownerlookup: a JSON object with a string "id" (or "name";
//     unconfirmed);
//   - maximum_length: the field's length, for text longer than length
//     characters, integers with more than length digits, and numbers whose
//     integer part has more than length−decimal_place digits;
//   - supported_values (only with [Options.StrictPicklists]): the list, for a
//     picklist value outside it.
//
// Other data types are accepted without checks. null always passes here (it
// clears the field; mandatory checks come later).

// datetimePattern is Zoho's documented date-time format.
var datetimePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$`)

// integerPattern is a JSON integer: no fraction, no exponent.
var integerPattern = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// checkValue validates one value (raw JSON v) of record number index; see
// "Value checks by data type" above.
func (s *Server) checkValue(f *Field, v gjson.Result, index int) map[string]any {
	if v.Type == gjson.Null {
		return nil
	}
	bad := func(extra string, val any) map[string]any {
		return errorItem("INVALID_DATA", msgInvalidData, map[string]any{
			"api_name": f.APIName, "json_path": fmt.Sprintf("$.data[%d].%s", index, f.APIName), extra: val})
	}
	switch f.DataType {
	case "text", "textarea", "email", "phone", "website", "picklist", "date", "datetime":
		if v.Type != gjson.String {
			return bad("expected_data_type", f.DataType)
		}
		str := v.Str
		if f.Length > 0 && utf8.RuneCountInString(str) > f.Length {
			return bad("maximum_length", f.Length)
		}
		switch {
		case str == "":
		case f.DataType == "email" && !emailPattern.MatchString(str):
			return bad("expected_data_type", "email")
		case f.DataType == "date" && !parses("2006-01-02", str):
			return bad("expected_data_type", "date")
		case f.DataType == "datetime" && !(datetimePattern.MatchString(str) && parses(time.RFC3339, str)):
			return bad("expected_data_type", "datetime")
		case f.DataType == "picklist" && s.opts.StrictPicklists && !slices.Contains(f.PicklistValues, str):
			return bad("supported_values", f.PicklistValues)
		}
	case "multiselectpicklist":
		if !v.IsArray() {
			return bad("expected_data_type", "jsonarray")
		}
		for _, e := range v.Array() {
			if e.Type != gjson.String {
				return bad("expected_data_type", "jsonarray")
			}
			if s.opts.StrictPicklists && !slices.Contains(f.PicklistValues, e.Str) {
				return bad("supported_values", f.PicklistValues)
			}
		}
	case "integer", "bigint":
		if v.Type != gjson.Number || !integerPattern.MatchString(v.Raw) {
			return bad("expected_data_type", f.DataType)
		}
		bits := 32
		if f.DataType == "bigint" {
			bits = 64
		}
		if _, err := strconv.ParseInt(v.Raw, 10, bits); err != nil {
			return bad("expected_data_type", f.DataType)
		}
		if f.Length > 0 && len(strings.TrimPrefix(v.Raw, "-")) > f.Length {
			return bad("maximum_length", f.Length)
		}
	case "double", "currency", "decimal", "percent":
		if v.Type != gjson.Number {
			return bad("expected_data_type", f.DataType)
		}
		intDigits := len(strconv.FormatFloat(math.Trunc(math.Abs(v.Num)), 'f', 0, 64))
		if limit := f.Length - max(f.decimalPlace(), 0); f.Length > 0 && intDigits > limit {
			return bad("maximum_length", f.Length)
		}
	case "boolean":
		if v.Type != gjson.True && v.Type != gjson.False {
			return bad("expected_data_type", "boolean")
		}
	case "lookup", "ownerlookup":
		if !v.IsObject() || (v.Get("id").Type != gjson.String && v.Get("name").Type != gjson.String) {
			return bad("expected_data_type", "jsonobject")
		}
	}
	return nil
}

func parses(layout, v string) bool {
	_, err := time.Parse(layout, v)
	return err == nil
}
