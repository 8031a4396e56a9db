package fieldvalue

import (
	"math"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Zoho's formats (zoho-crm-api.md "Fields metadata"): dates "yyyy-MM-dd",
// date-times "yyyy-MM-ddTHH:mm:ss±HH:mm".
const (
	dateLayout  = "2006-01-02"
	localLayout = "2006-01-02T15:04:05"
	utcOffset   = "+00:00"
)

// Epoch numbers are read by their magnitude |n| (the same rule for
// negative numbers, dates before 1970):
//   - |n| ≥ epochMillisFrom (10^10) is milliseconds: 10^10 ms is 1970-04-26,
//     while 10^10 seconds would be 2286-11-20;
//   - epochSecondsFrom (10^8) ≤ |n| < 10^10 is seconds: 1973-03-03 to
//     2286-11-20 (before 1966-10-31 for negative numbers);
//   - |n| < 10^8 is ambiguous (ReasonAmbiguousNumber): seconds would be
//     within three years of 1970 and milliseconds within 28 hours of it,
//     and every yyyymmdd number (20261128) is in that range; it is refused
//     rather than sent as a wrong date.
const (
	epochMillisFrom  = 1e10
	epochSecondsFrom = 1e8
)

// Epoch seconds of 0001-01-01 and 9999-12-31T23:59:59Z: four-digit years.
const (
	minEpoch = -62135596800
	maxEpoch = 253402300799
)

// instant is a parsed date or date-time. From a string: local is
// "yyyy-MM-ddTHH:mm:ss" (or only "yyyy-MM-dd" for a bare date) and offset
// "±HH:mm" ("" for a bare date), both as written, so nothing is allocated or
// shifted. From an epoch number: epoch, in UTC.
type instant struct {
	local, offset string
	epoch         time.Time
	isEpoch       bool
}

// parseInstant reads an ISO date, an RFC 3339 date-time (fraction dropped,
// "Z" as +00:00) or epoch seconds / milliseconds (UTC) by the magnitude rule
// above.
func parseInstant(v gjson.Result) (instant, Reason) {
	switch v.Type {
	case gjson.String:
		s := strings.TrimSpace(v.Str)
		if len(s) == len(dateLayout) {
			if _, err := time.Parse(dateLayout, s); err != nil {
				return instant{}, ReasonBadDate
			}
			return instant{local: s}, ""
		}
		if in, ok := rfc3339(s); ok {
			return in, ""
		}
		return instant{}, ReasonBadDate
	case gjson.Number:
		n := v.Num
		switch abs := math.Abs(n); {
		case abs < epochSecondsFrom:
			return instant{}, ReasonAmbiguousNumber
		case abs >= epochMillisFrom:
			n /= 1000
		}
		sec := math.Floor(n)
		if sec < minEpoch || sec > maxEpoch {
			return instant{}, ReasonBadDate
		}
		return instant{epoch: time.Unix(int64(sec), 0).UTC(), isEpoch: true}, ""
	case gjson.True, gjson.False:
		return instant{}, ReasonBadDate
	}
	return instant{}, ReasonWrongType
}

// rfc3339 splits "yyyy-MM-ddTHH:mm:ss[.fraction](Z|±HH:mm)" into its local
// part and offset, checking that the date, time and offset exist.
func rfc3339(s string) (instant, bool) {
	if len(s) < len(localLayout)+1 || s[10] != 'T' {
		return instant{}, false
	}
	local, rest := s[:len(localLayout)], s[len(localLayout):]
	if _, err := time.Parse(localLayout, local); err != nil {
		return instant{}, false
	}
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 1 {
			return instant{}, false
		}
		rest = rest[i:]
	}
	switch {
	case rest == "Z":
		return instant{local: local, offset: utcOffset}, true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		isDigits(rest[1:3]) && isDigits(rest[4:]) && rest[1:3] <= "23" && rest[4:] <= "59":
		return instant{local: local, offset: rest}, true
	}
	return instant{}, false
}

// appendDate appends "yyyy-MM-dd": the date as written for ISO dates and
// date-times (in their own offset), the UTC date for epoch numbers.
func appendDate(dst []byte, v gjson.Result) ([]byte, Reason) {
	in, r := parseInstant(v)
	if r != "" {
		return dst, r
	}
	dst = append(dst, '"')
	if in.isEpoch {
		dst = in.epoch.AppendFormat(dst, dateLayout)
	} else {
		dst = append(dst, in.local[:len(dateLayout)]...)
	}
	return append(dst, '"'), ""
}

// appendDatetime appends "yyyy-MM-ddTHH:mm:ss±HH:mm" in the value's own
// offset (+00:00 for "Z" and epoch numbers), the fraction dropped. A bare
// date is refused: its time and zone would be a guess.
func appendDatetime(dst []byte, v gjson.Result) ([]byte, Reason) {
	in, r := parseInstant(v)
	if r != "" {
		return dst, r
	}
	if !in.isEpoch && in.offset == "" {
		return dst, ReasonBadDate
	}
	dst = append(dst, '"')
	if in.isEpoch {
		dst = in.epoch.AppendFormat(dst, localLayout)
		dst = append(dst, utcOffset...)
	} else {
		dst = append(append(dst, in.local...), in.offset...)
	}
	return append(dst, '"'), ""
}
