package mapping

import (
	"strings"

	"github.com/tidwall/gjson"
)

// consentGranted reports whether every category in required is granted by
// consent (context.consent; Type gjson.Null if absent). A category is granted
// when context.consent.categories has it set to JSON true, or — when
// categories does not mention it at all — when context.consent.canonical
// lists it. An explicit categories entry therefore wins over the list (false
// denies even if the list names it). Category names compare
// case-insensitively, with surrounding white space ignored; of a repeated
// category (or categories or canonical member) the first occurrence counts.
// With required empty, everything is granted.
func consentGranted(consent gjson.Result, required []string) bool {
	if len(required) == 0 {
		return true
	}
	if !consent.IsObject() {
		return false
	}
	cats, canon := consent.Get("categories"), consent.Get("canonical")
	for _, want := range required {
		decided, granted := false, false
		if cats.IsObject() {
			cats.ForEach(func(k, v gjson.Result) bool {
				if strings.EqualFold(strings.TrimSpace(k.Str), want) {
					decided = true
					granted = v.Type == gjson.True
					return false
				}
				return true
			})
		}
		if !decided && canon.IsArray() {
			canon.ForEach(func(_, v gjson.Result) bool {
				if v.Type == gjson.String && strings.EqualFold(strings.TrimSpace(v.Str), want) {
					granted = true
					return false
				}
				return true
			})
		}
		if !granted {
			return false
		}
	}
	return true
}
