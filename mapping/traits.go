package mapping

// This file finds the members of traits, context.traits and properties that
// the preset and the configured mappings read: keys match by their folded
// form (appendFolded), and where several spellings match, keyRank orders
// them so that the choice never depends on member order.

import (
	"strings"

	"github.com/tidwall/gjson"
)

// slot is a trait or property key that the preset reads.
type slot int

const (
	slotEmail slot = iota
	slotFirstName
	slotLastName
	slotPhone
	slotCompany
	slotName
	slotSource   // properties.source (Lead Generated)
	slotFormName // properties.form_name (Lead Generated)
	numSlots
)

// slotExact gives each slot's preferred exact spelling (see keyRank).
var slotExact = [numSlots]string{
	slotEmail:     "email",
	slotFirstName: "firstName",
	slotLastName:  "lastName",
	slotPhone:     "phone",
	slotCompany:   "company",
	slotName:      "name",
	slotSource:    "source",
	slotFormName:  "form_name",
}

// slotOf returns the slot whose key folds to folded.
func slotOf(folded []byte) (slot, bool) {
	switch string(folded) { // no allocation: the compiler compares in place
	case "email":
		return slotEmail, true
	case "firstname":
		return slotFirstName, true
	case "lastname":
		return slotLastName, true
	case "phone":
		return slotPhone, true
	case "company":
		return slotCompany, true
	case "name":
		return slotName, true
	case "source":
		return slotSource, true
	case "formname":
		return slotFormName, true
	}
	return 0, false
}

// member is one member of a JSON object, filed under the slot (or the
// configured path segment) its key matches. key is the unescaped key; key
// and raw may point into the record value.
type member struct {
	slot slot
	rank int // preference of key (see keyRank)
	key  string
	raw  string
}

// members is a list of matched members, ordered by slot and then preference
// (see keyRank) once sorted.
type members []member

// add files a member and returns the list, unless a member of the same key
// came first: of a repeated key the first occurrence counts. (It returns the
// list rather than appending through a pointer so that a list backed by a
// caller's array stays on the stack.)
func (ms members) add(m member) members {
	for i := range ms {
		if ms[i].slot == m.slot && ms[i].key == m.key {
			return ms
		}
	}
	return append(ms, m)
}

// sort orders the members by slot, then keyRank and byte order. Lists are tiny
// (one member per slot is usual), so an insertion sort does.
func (ms members) sort() {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].before(ms[j-1]); j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

func (m member) before(o member) bool {
	if m.slot != o.slot {
		return m.slot < o.slot
	}
	if m.rank != o.rank {
		return m.rank < o.rank
	}
	return m.key < o.key
}

// keyRank ranks a spelling of a key so that the choice among several never
// depends on member order: the exact spelling first, then spellings equal to
// it ignoring case, then the others (in byte order, see member.before).
func keyRank(key, exact string) int {
	switch {
	case key == exact:
		return 0
	case strings.EqualFold(key, exact):
		return 1
	}
	return 2
}

// forEachMember calls fn with each member of the raw JSON object obj, in
// order: its unescaped key and the raw JSON of its value. Keys longer than
// maxFoldedName bytes, which never match, are skipped. obj is "" or an
// object that validJSON accepted.
func forEachMember(obj string, fn func(key, raw string)) {
	if obj == "" {
		return
	}
	gjson.Parse(obj).ForEach(func(k, v gjson.Result) bool {
		if len(k.Str) <= maxFoldedName {
			fn(k.Str, v.Raw)
		}
		return true
	})
}

// keyIndex lists the members of one object whose keys fold to a slot's key,
// by slot, most preferred first.
type keyIndex struct {
	ms members
}

// indexKeys reads the keys of the raw JSON object obj once and files those
// the preset uses, appending to buf.
func indexKeys(obj string, buf []member) keyIndex {
	ix := keyIndex{ms: buf}
	forEachMember(obj, func(key, raw string) {
		var fb [maxFoldedName]byte
		if s, ok := slotOf(appendFolded(fb[:0], key)); ok {
			ix.ms = ix.ms.add(member{slot: s, rank: keyRank(key, slotExact[s]), key: key, raw: raw})
		}
	})
	ix.ms.sort()
	return ix
}

// text returns the first usable text among the slot's members.
func (ix *keyIndex) text(s slot) string {
	for _, m := range ix.ms {
		if m.slot != s {
			continue
		}
		if t := textOf(m.raw); t != "" {
			return t
		}
	}
	return ""
}

// company returns the company: a text, or the name of a company object.
func (ix *keyIndex) company() string {
	for _, m := range ix.ms {
		if m.slot != slotCompany {
			continue
		}
		if strings.HasPrefix(m.raw, "{") {
			var buf [numSlots]member
			n := indexKeys(m.raw, buf[:0])
			if t := n.text(slotName); t != "" {
				return t
			}
			continue
		}
		if t := textOf(m.raw); t != "" {
			return t
		}
	}
	return ""
}

// preferText returns a slot's text from top, else from base.
func preferText(top, base *keyIndex, s slot) string {
	if t := top.text(s); t != "" {
		return t
	}
	return base.text(s)
}

// usableAt follows path (folded: its segments folded) through nested raw
// JSON objects, each segment matched like a trait key, and returns the first
// usable value at its end (see usable). The returned field has no name; its
// value may point into obj.
func usableAt(obj string, path, folded []string) (recordField, bool) {
	if len(path) == 0 || obj == "" {
		return recordField{}, false
	}
	var buf [4]member
	for _, m := range matchingMembers(obj, path[0], folded[0], buf[:0]) {
		if len(path) > 1 {
			if strings.HasPrefix(m.raw, "{") {
				if out, ok := usableAt(m.raw, path[1:], folded[1:]); ok {
					return out, true
				}
			}
			continue
		}
		if usable(m.raw) {
			return recordField{value: gjson.Parse(m.raw)}, true
		}
	}
	return recordField{}, false
}

// usable reports whether a raw JSON value is worth mapping: a boolean, a
// number, a string that is not blank, or a non-empty array (for a
// multi-select picklist). It allocates only for strings with escapes.
func usable(raw string) bool {
	if raw == "" {
		return false
	}
	switch c := raw[0]; {
	case c == 't' || c == 'f' || c == '-' || ('0' <= c && c <= '9'):
		return true
	case c == '"':
		return textOf(raw) != ""
	case c == '[':
		return strings.TrimSpace(raw[1:len(raw)-1]) != ""
	}
	return false
}

// matchingMembers returns the members of the raw JSON object obj whose keys
// fold to folded (the folded form of key), most preferred first (keyRank
// with key as the exact spelling), appended to buf.
func matchingMembers(obj, key, folded string, buf []member) members {
	ms := members(buf)
	forEachMember(obj, func(k, raw string) {
		var fb [maxFoldedName]byte
		if string(appendFolded(fb[:0], k)) == folded {
			ms = ms.add(member{rank: keyRank(k, key), key: k, raw: raw})
		}
	})
	ms.sort()
	return ms
}
