package config

import (
	"fmt"
	"io"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Print writes the effective configuration as YAML, every key in Keys order,
// each with a line comment naming its source ("# env ZOHOSINK_ZOHO_MODULE",
// "# file", "# flag --batch-linger", "# default"); keys of a Config not made by
// Load carry no source. Values that do not say what they mean get a note after
// the source: "max_buffered: 0 # default: 0 = max_records × (max_in_flight + 2)
// = 600", and an empty zoho.token_cache_file (cache off). Secrets print as "[redacted]" (or "" when unset).
// Lists print in flow style on one line; an unset list prints as null (for
// zoho.trigger, unset and empty differ). The output is valid YAML with the
// same shape as the configuration file.
func Print(w io.Writer, c *Config) error {
	root := &yaml.Node{Kind: yaml.MappingNode}
	doc := &yaml.Node{
		Kind:        yaml.DocumentNode,
		HeadComment: "zohosink effective configuration (secrets redacted); comments name each value's source",
		Content:     []*yaml.Node{root},
	}
	groups := map[string]*yaml.Node{"": root}
	for i := range keyList {
		k := &keyList[i]
		cut := strings.LastIndex(k.key, ".")
		sec, name := mappingOf(groups, k.key[:cut]), k.key[cut+1:]
		val := &yaml.Node{}
		if fv := k.field(c); fv.Kind() == reflect.Slice && fv.IsNil() {
			// Unset, not empty: for zoho.trigger the difference matters.
			val = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
		} else if err := val.Encode(fv.Interface()); err != nil {
			return fmt.Errorf("config: print %s: %w", k.key, err)
		}
		flow(val)
		val.LineComment = sourceComment(c.sources[k.key], k.key)
		if note := valueNote(c, k.key); note != "" {
			if val.LineComment != "" {
				val.LineComment += ": "
			}
			val.LineComment += note
		}
		sec.Content = append(sec.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, val)
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	return enc.Close()
}

// mappingOf returns the mapping node of the section or group path ("kafka",
// "kafka.tls"), adding it (and its parents) to groups and their parents' nodes
// the first time.
func mappingOf(groups map[string]*yaml.Node, path string) *yaml.Node {
	if n := groups[path]; n != nil {
		return n
	}
	parent, name := "", path
	if cut := strings.LastIndex(path, "."); cut >= 0 {
		parent, name = path[:cut], path[cut+1:]
	}
	n := &yaml.Node{Kind: yaml.MappingNode}
	p := mappingOf(groups, parent)
	p.Content = append(p.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, n)
	groups[path] = n
	return n
}

func sourceComment(s Source, key string) string {
	switch s {
	case SourceEnv:
		return "env " + EnvVar(key)
	case SourceFlag:
		return "flag --" + FlagName(key)
	case "":
		return ""
	}
	return string(s)
}

// valueNote explains a value whose meaning is not what it says: the effective
// batch.max_buffered when it is 0, kafka.max_message_bytes 0, and a token
// cache that is off.
func valueNote(c *Config, key string) string {
	switch {
	case key == "batch.max_buffered" && c.Batch.MaxBuffered == 0:
		return fmt.Sprintf("0 = max_records × (max_in_flight + 2) = %d", c.EffectiveMaxBuffered())
	case key == "kafka.max_message_bytes" && c.Kafka.MaxMessageBytes == 0:
		return "0 = sized from the dead-letter topic's max.message.bytes"
	case key == "zoho.token_cache_file" && c.Zoho.TokenCacheFile == "":
		return `"" = no token cache`
	case key == "zoho.duplicate_check_fields" && c.Zoho.DuplicateCheckFields == nil:
		if d := c.EffectiveDuplicateCheckFields(); d != nil {
			return fmt.Sprintf("null = %s (the %s preset's)", strings.Join(d, ", "), c.Zoho.Module)
		}
		return "null: required for module " + c.Zoho.Module
	}
	return ""
}

// flow puts sequences and mappings on one line.
func flow(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		n.Style = yaml.FlowStyle
	}
	for _, c := range n.Content {
		flow(c)
	}
}
