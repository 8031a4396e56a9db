package groupoffsets

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Selection is the partitions a reset applies to: topics in the order given,
// each with some partitions or all of them.
type Selection struct {
	order []string
	parts map[string][]int32 // topic → partitions; nil: all
}

// ParseSelection parses --topic values ("T" or "T:0,1"); no value selects
// every configured topic. Topics must be among configured (kafka.topics);
// partitions are whole numbers ≥ 0. Repeating a topic adds partitions; a
// topic given whole stays whole.
func ParseSelection(args, configured []string) (Selection, error) {
	sel := Selection{parts: map[string][]int32{}}
	if len(args) == 0 {
		for _, t := range configured {
			if _, dup := sel.parts[t]; !dup {
				sel.order = append(sel.order, t)
				sel.parts[t] = nil
			}
		}
		return sel, nil
	}
	for _, a := range args {
		topic, list, hasParts := strings.Cut(a, ":")
		topic = strings.TrimSpace(topic)
		if !slices.Contains(configured, topic) {
			return sel, fmt.Errorf("--topic %q: %q is not one of kafka.topics (%s)", a, topic, strings.Join(configured, ", "))
		}
		prev, seen := sel.parts[topic]
		if !seen {
			sel.order = append(sel.order, topic)
		} else if prev == nil {
			continue // already the whole topic
		}
		if !hasParts {
			sel.parts[topic] = nil
			continue
		}
		parts := prev
		for _, ps := range strings.Split(list, ",") {
			p, err := strconv.ParseInt(strings.TrimSpace(ps), 10, 32)
			if err != nil || p < 0 {
				return sel, fmt.Errorf("--topic %q: %q is not a partition number", a, ps)
			}
			if !slices.Contains(parts, int32(p)) {
				parts = append(parts, int32(p))
			}
		}
		sel.parts[topic] = parts
	}
	return sel, nil
}

// Topics are the selected topics, in the order given.
func (s Selection) Topics() []string { return s.order }

// Has reports whether partition p of topic is selected.
func (s Selection) Has(topic string, p int32) bool {
	parts, ok := s.parts[topic]
	return ok && (parts == nil || slices.Contains(parts, p))
}

// Check reports the first selected partition that is not among existing
// ("--topic T: partition P does not exist").
func (s Selection) Check(existing []PartitionState) error {
	for _, t := range s.order {
		for _, p := range s.parts[t] {
			if !slices.ContainsFunc(existing, func(e PartitionState) bool { return e.Topic == t && e.Partition == p }) {
				return fmt.Errorf("--topic %s: partition %d does not exist", t, p)
			}
		}
	}
	return nil
}
