package config

import (
	"reflect"
	"slices"
	"strings"
)

// EnvPrefix prefixes every environment variable: key kafka.dlq_topic is
// ZOHOSINK_KAFKA_DLQ_TOPIC.
const EnvPrefix = "ZOHOSINK_"

// OtherEnvVars are the ZOHOSINK_* environment variables that are not
// configuration keys but are used elsewhere in the project (tests, build
// tooling). Load reports any other non-empty ZOHOSINK_* variable that is not a
// key's EnvVar as an unknown variable, so a misspelled one is never silently
// ignored; a new non-configuration variable must be added here (a test scans
// the repository for them).
var OtherEnvVars = []string{
	"ZOHOSINK_TESTCONTAINERS",    // internal/kafkatest: run tests on a container broker
	"ZOHOSINK_KAFKA_IMAGE",       // internal/kafkatest: the container broker's image
	"ZOHOSINK_TEST_CONSUMER_BIN", // test/process: a prebuilt consumer binary
	"ZOHOSINK_CONTRACT_PYTHON",   // test/contract: the venv's python with Zoho's Python SDK
	"ZOHOSINK_CONTRACT_NODE",     // test/contract: the node that runs Zoho's Node.js SDK
}

// keyInfo describes one configuration key, derived from Config's tags.
type keyInfo struct {
	key    string // "kafka.dlq_topic"
	env    string // "ZOHOSINK_KAFKA_DLQ_TOPIC"
	index  []int  // reflect field index path from Config
	typ    reflect.Type
	secret bool
}

var (
	keyList  = buildKeys()
	keyIndex = func() map[string]*keyInfo {
		m := make(map[string]*keyInfo, len(keyList))
		for i := range keyList {
			m[keyList[i].key] = &keyList[i]
		}
		return m
	}()
	sectionNames = func() map[string]bool {
		m := map[string]bool{}
		for _, k := range keyList {
			m[strings.SplitN(k.key, ".", 2)[0]] = true
		}
		return m
	}()
	// groupNames are the keys that hold keys rather than a value, below a
	// section: "kafka.tls", "kafka.sasl".
	groupNames = func() map[string]bool {
		m := map[string]bool{}
		for _, k := range keyList {
			parts := strings.Split(k.key, ".")
			for i := 2; i < len(parts); i++ {
				m[strings.Join(parts[:i], ".")] = true
			}
		}
		return m
	}()
)

var secretType = reflect.TypeFor[Secret]()

func buildKeys() []keyInfo {
	var out []keyInfo
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sf := ct.Field(i)
		if !sf.IsExported() {
			continue
		}
		out = appendKeys(out, sf.Tag.Get("mapstructure"), sf.Type, []int{i})
	}
	return out
}

// appendKeys appends the keys of struct type st, whose key path is prefix and
// field index path index; a struct-typed field is a group of keys one level
// deeper (kafka.tls → kafka.tls.ca_file).
func appendKeys(out []keyInfo, prefix string, st reflect.Type, index []int) []keyInfo {
	for j := range st.NumField() {
		ff := st.Field(j)
		key := prefix + "." + ff.Tag.Get("mapstructure")
		idx := append(slices.Clone(index), j)
		if ff.Type.Kind() == reflect.Struct {
			out = appendKeys(out, key, ff.Type, idx)
			continue
		}
		out = append(out, keyInfo{
			key:    key,
			env:    EnvVar(key),
			index:  idx,
			typ:    ff.Type,
			secret: ff.Type == secretType,
		})
	}
	return out
}

// Keys returns every configuration key ("kafka.brokers", …) in the order of
// Config's fields, which is also the order Print uses.
func Keys() []string {
	out := make([]string, len(keyList))
	for i, k := range keyList {
		out[i] = k.key
	}
	return out
}

// EnvVar returns the environment variable of a key: ZOHOSINK_ + the key
// upper-cased with "." → "_" ("zoho.client_secret" → ZOHOSINK_ZOHO_CLIENT_SECRET).
func EnvVar(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// FlagName returns the command-line flag name Load binds to a key when the
// FlagSet has it: the key with "." and "_" → "-" ("kafka.dlq_topic" →
// "kafka-dlq-topic"). A flag named exactly like the key is bound too.
func FlagName(key string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(key)
}

// field returns the addressable field of c that holds key k.
func (k *keyInfo) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(k.index)
}
