package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v4"
)

// Source says where a key's effective value came from.
type Source string

// The sources of a value, highest priority first.
const (
	SourceFlag    Source = "flag"    // a command-line flag that was set
	SourceEnv     Source = "env"     // a ZOHOSINK_* environment variable (non-empty)
	SourceFile    Source = "file"    // the YAML file
	SourceDefault Source = "default" // Defaults()
)

// Load builds the effective configuration from, highest priority first, the
// flags of flags that are set (nil: none), the ZOHOSINK_* environment, the YAML
// file at path ("" : no file) and Defaults, then validates it.
//
// Every key is bound to its environment variable (EnvVar), so the environment
// works without a file. From the environment (and string flags) a list is
// comma-separated ("a, b"; "[]" is an explicit empty list), mapping.fields is
// "traits.plan=Plan__c,properties.x=X" or a JSON list of {"from","to"}, and a
// duration is Go syntax ("1s", "500ms"). An empty variable counts as unset
// (so the environment cannot set a key to ""; zoho.token_cache_file takes
// "off" instead). A non-empty ZOHOSINK_* variable that is neither a key's
// EnvVar nor one of OtherEnvVars is reported as unknown.
// A flag is bound to a key when the FlagSet has a flag named FlagName(key) or
// the key itself.
//
// Errors: reading or parsing the file fails → a wrapped error and a nil Config.
// Otherwise every problem found is returned at once as errors.Join of
// *FieldError (unknown keys in the file, unknown ZOHOSINK_* variables, values
// that cannot be decoded, and everything else Validate reports), together with the Config as far as it could be
// loaded, so that "config print" and "config validate" can still show it.
func Load(path string, flags *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	def := Defaults()
	for i := range keyList {
		k := &keyList[i]
		dv := k.field(def).Interface()
		if s, ok := dv.(Secret); ok {
			dv = s.Value()
		}
		v.SetDefault(k.key, dv)
		if err := v.BindEnv(k.key, k.env); err != nil {
			return nil, fmt.Errorf("config: bind %s: %w", k.env, err)
		}
	}

	var problems []error
	fileKeys := map[string]bool{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: read file: %w", err)
		}
		fileKeys, problems, err = scanFile(data)
		if err != nil {
			return nil, fmt.Errorf("config: parse %s: %w", path, err)
		}
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("config: parse %s: %w", path, err)
		}
	}

	bound := map[string]*pflag.Flag{}
	if flags != nil {
		for _, k := range keyList {
			f := flags.Lookup(FlagName(k.key))
			if f == nil {
				f = flags.Lookup(k.key)
			}
			if f == nil {
				continue
			}
			if err := v.BindPFlag(k.key, f); err != nil {
				return nil, fmt.Errorf("config: bind flag --%s: %w", f.Name, err)
			}
			bound[k.key] = f
		}
	}

	problems = append(problems, scanEnv()...)

	c := &Config{sources: make(map[string]Source, len(keyList))}
	undecodable := map[string]bool{}
	for i := range keyList {
		k := &keyList[i]
		from := ""
		switch {
		case bound[k.key] != nil && bound[k.key].Changed:
			c.sources[k.key] = SourceFlag
			from = "--" + bound[k.key].Name
		case os.Getenv(k.env) != "":
			c.sources[k.key] = SourceEnv
			from = k.env
		case fileKeys[k.key]:
			c.sources[k.key] = SourceFile
		default:
			c.sources[k.key] = SourceDefault
		}
		raw := v.Get(k.key)
		if err := decodeValue(raw, k.field(c).Addr().Interface()); err != nil {
			if k.secret {
				err = nil // the decoder's message may quote the value
			}
			undecodable[k.key] = true
			problems = append(problems, &FieldError{Key: k.key, From: from, Problem: decodeProblem(k, raw), Err: err})
		}
	}
	if strings.EqualFold(strings.TrimSpace(c.Zoho.TokenCacheFile), TokenCacheOff) {
		c.Zoho.TokenCacheFile = ""
	}
	// A key whose value could not be decoded holds its zero value: Validate's
	// verdict on it ("0 is outside 1..100") would only repeat the problem.
	for _, fe := range FieldErrors(c.Validate()) {
		if key, _, _ := strings.Cut(fe.Key, "["); !undecodable[key] {
			problems = append(problems, fe)
		}
	}
	return c, errors.Join(problems...)
}

// Sources returns, for every key, where its value came from. It is empty for a
// Config that was not made by Load.
func (c *Config) Sources() map[string]Source {
	return maps.Clone(c.sources)
}

// Source returns where key's value came from, or "" when unknown.
func (c *Config) Source(key string) Source { return c.sources[key] }

// decodeProblem says why raw (from viper) could not be decoded into key k's
// field, naming the value (never a secret's).
func decodeProblem(k *keyInfo, raw any) string {
	if k.secret {
		return "must be a string"
	}
	s, isString := raw.(string)
	switch {
	case k.typ == durationType && isString:
		return fmt.Sprintf("%q is not a duration: write it like \"1s\" or \"500ms\"", s)
	case k.typ == durationType && isNumber(raw):
		return fmt.Sprintf("%v has no unit: write it like \"1s\" or \"500ms\"", raw)
	case k.typ == durationType:
		return "is not a duration: write it like \"1s\" or \"500ms\""
	case k.typ.Kind() == reflect.Int || k.typ.Kind() == reflect.Int32:
		if !isString {
			if isNumber(raw) {
				return fmt.Sprintf("%v is not a whole number", raw)
			}
			return "is not a whole number"
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(s), 0, k.typ.Bits()); errors.Is(err, strconv.ErrRange) {
			return fmt.Sprintf("%q is too large (at most %d)", s, int64(1)<<(k.typ.Bits()-1)-1)
		}
		return fmt.Sprintf("%q is not a whole number", s)
	case k.typ == stringsType:
		return "is not a list of strings"
	case k.typ == fieldMappingType:
		if isString {
			if _, err := parseFieldMappings(s); err != nil {
				return err.Error()
			}
		}
		return "is not a list of {from, to} mappings"
	case k.typ.Kind() == reflect.String:
		return "must be a string"
	case k.typ.Kind() == reflect.Bool:
		return "is not true or false"
	}
	return "invalid value"
}

func isNumber(v any) bool {
	switch reflect.ValueOf(v).Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// scanEnv reports every non-empty ZOHOSINK_* variable that is neither a key's
// EnvVar nor one of OtherEnvVars, with a suggestion when one is close
// (ZOHOSINK_BATCH_MAXRECORDS → ZOHOSINK_BATCH_MAX_RECORDS). Empty variables
// count as unset and are not reported.
func scanEnv() (problems []error) {
	known := make([]string, 0, len(keyList)+len(OtherEnvVars))
	for _, k := range keyList {
		known = append(known, k.env)
	}
	known = append(known, OtherEnvVars...)
	var unknown []string
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix) && val != "" && !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		fe := &FieldError{Key: name, Problem: "unknown environment variable", Err: ErrUnknownKey}
		if s := suggest(name, known); s != "" {
			fe.Problem = fmt.Sprintf("unknown environment variable (did you mean %s?)", s)
		}
		problems = append(problems, fe)
	}
	return problems
}

// decodeValue decodes a viper value into the field pointed to by out, with
// weak typing (env strings → numbers), and the hooks below.
func decodeValue(in, out any) error {
	d, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:           out,
		WeaklyTypedInput: true,
		ZeroFields:       true,
		DecodeHook:       decodeHook,
	})
	if err != nil {
		return err
	}
	return d.Decode(in)
}

var (
	durationType     = reflect.TypeFor[time.Duration]()
	stringsType      = reflect.TypeFor[[]string]()
	fieldMappingType = reflect.TypeFor[[]FieldMapping]()
)

// decodeHook turns strings (environment, flags) into durations, lists and field
// mappings, refuses bare numbers as durations ("linger: 1000" would otherwise
// mean a microsecond) and fractions as whole numbers (2.5 would become 2).
func decodeHook(from, to reflect.Type, data any) (any, error) {
	switch to {
	case durationType:
		switch from.Kind() {
		case reflect.String:
			s := strings.TrimSpace(data.(string))
			if s == "" {
				return time.Duration(0), nil
			}
			return time.ParseDuration(s)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			if from == durationType || reflect.ValueOf(data).IsZero() {
				return data, nil
			}
			return nil, fmt.Errorf("duration %v has no unit: write it like \"1s\" or \"500ms\"", data)
		}
	case stringsType:
		if from.Kind() == reflect.String {
			return splitList(data.(string)), nil
		}
	case fieldMappingType:
		if from.Kind() == reflect.String {
			return parseFieldMappings(data.(string))
		}
	}
	if k := to.Kind(); (k == reflect.Int || k == reflect.Int32) && (from.Kind() == reflect.Float64 || from.Kind() == reflect.Float32) {
		// The decoder would truncate 2.5 to 2 without a word.
		if f := reflect.ValueOf(data).Float(); f != math.Trunc(f) {
			return nil, fmt.Errorf("%v is not a whole number", data)
		}
	}
	return data, nil
}

// splitList splits a comma-separated list, trimming spaces and dropping empty
// items; "[]" is an explicit empty (non-nil) list.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	out := []string{}
	if s == "[]" {
		return out
	}
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseFieldMappings reads mapping.fields from a string: a JSON list of
// {"from","to"} (or {"value","to"}) objects, or "from=to" pairs separated by
// commas.
func parseFieldMappings(s string) ([]FieldMapping, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var out []FieldMapping
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("not a JSON list of {\"from\",\"to\"} or {\"value\",\"to\"}: %w", err)
		}
		return out, nil
	}
	var out []FieldMapping
	for _, p := range splitList(s) {
		from, to, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not from=to", p)
		}
		out = append(out, FieldMapping{From: strings.TrimSpace(from), To: strings.TrimSpace(to)})
	}
	return out, nil
}

// scanFile parses a YAML file, lists the keys present in it (with non-null
// values) and reports the ones zohosink does not know, with a suggestion when
// one is close. A file that is not YAML is an error naming the line of the
// problem (go.yaml.in/yaml/v4; viper's YAML parser names the line before
// for some errors). Keys must be lower case, as Keys spells them: viper
// lower-cases every key, so "Kafka:" would be read as "kafka:" (and would
// silently override or be overridden by a "kafka:" section); another case is
// reported as a problem naming the line.
func scanFile(data []byte) (present map[string]bool, problems []error, err error) {
	present = map[string]bool{}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return present, nil, nil // empty, or not a mapping: viper reports it
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		secNode, secBody := root.Content[i], root.Content[i+1]
		secKey := strings.ToLower(secNode.Value)
		if !sectionNames[secKey] {
			problems = append(problems, unknownKey(secKey, sectionList()))
			continue
		}
		if secNode.Value != secKey {
			problems = append(problems, caseProblem(secKey, secNode))
		}
		if secBody.Kind != yaml.MappingNode {
			if !isNull(secBody) {
				problems = append(problems, &FieldError{Key: secKey, Problem: "must be a mapping of keys"})
			}
			continue
		}
		problems = append(problems, scanGroup(secKey, secBody, present)...)
	}
	return present, problems, nil
}

// scanGroup marks the keys of body, the YAML mapping of section or group
// prefix, as present and reports unknown ones and ones not in lower case;
// nested groups (kafka.tls) are scanned alike.
func scanGroup(prefix string, body *yaml.Node, present map[string]bool) (problems []error) {
	for j := 0; j+1 < len(body.Content); j += 2 {
		nameNode, val := body.Content[j], body.Content[j+1]
		key := prefix + "." + strings.ToLower(nameNode.Value)
		known := groupNames[key] || keyIndex[key] != nil
		if !known {
			problems = append(problems, unknownKey(key, Keys()))
			continue
		}
		if nameNode.Value != strings.ToLower(nameNode.Value) {
			problems = append(problems, caseProblem(key, nameNode))
		}
		if groupNames[key] {
			switch {
			case val.Kind == yaml.MappingNode:
				problems = append(problems, scanGroup(key, val, present)...)
			case !isNull(val):
				problems = append(problems, &FieldError{Key: key, Problem: "must be a mapping of keys"})
			}
			continue
		}
		if !isNull(val) {
			present[key] = true
		}
		if key == "mapping.fields" {
			problems = append(problems, scanFieldMappings(val)...)
		}
	}
	return problems
}

// caseProblem reports a key written in another case than key.
func caseProblem(key string, written *yaml.Node) *FieldError {
	return &FieldError{Key: key, Problem: fmt.Sprintf("written %q (line %d): keys are lower case", written.Value, written.Line), Err: ErrKeyCase}
}

// ErrKeyCase is wrapped by the *FieldError of a key in the file written in
// another case than its own ("Kafka:" for "kafka:").
var ErrKeyCase = errors.New("key not in lower case")

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// scanFieldMappings reports unknown keys, and keys not in lower case, inside
// mapping.fields entries.
func scanFieldMappings(list *yaml.Node) (problems []error) {
	if list.Kind != yaml.SequenceNode {
		return nil // the decoder reports the wrong shape
	}
	for i, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			continue // the decoder reports the wrong shape
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			nameNode := item.Content[j]
			n := strings.ToLower(nameNode.Value)
			key := fmt.Sprintf("mapping.fields[%d].%s", i, n)
			switch {
			case n != "from" && n != "value" && n != "to":
				fe := unknownKey(key, nil)
				fe.Problem = "unknown key (want from or value, and to)"
				problems = append(problems, fe)
			case nameNode.Value != n:
				problems = append(problems, caseProblem(key, nameNode))
			}
		}
	}
	return problems
}

func unknownKey(key string, candidates []string) *FieldError {
	fe := &FieldError{Key: key, Problem: "unknown key", Err: ErrUnknownKey}
	if s := suggest(key, candidates); s != "" {
		fe.Problem = fmt.Sprintf("unknown key (did you mean %q?)", s)
	}
	return fe
}

// ErrUnknownKey is wrapped by the *FieldError of a key in the file, or a
// ZOHOSINK_* environment variable, that zohosink does not know.
var ErrUnknownKey = errors.New("unknown key")

func sectionList() []string {
	out := make([]string, 0, len(sectionNames))
	for s := range sectionNames {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// suggest returns the candidate closest to key: the same letters ignoring "_"
// (camelCase), or within two edits; "" when none is close.
func suggest(key string, candidates []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "") }
	best, bestD := "", 3
	for _, c := range candidates {
		if norm(c) == norm(key) {
			return c
		}
		if d := EditDistance(key, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// EditDistance is the Levenshtein distance of a and b, in bytes: how "did you
// mean" suggestions for keys (and, in the commands, Zoho field API names) are chosen.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
