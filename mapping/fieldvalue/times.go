package fieldvalue

import (
	"math"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Zoho's formats (zoho-crm-api.md "Fields metadata").
const (
	dateLayout     = "2006-01-02"
	datetimeLayout = "2006-01-02T15:04:05-07:00" // UTC formats as +00:00
)

// epochMillisFrom: epoch numbers of at least this magnitude are milliseconds.
const epochMillisFrom = 1e11

// parseTime reads an ISO date (date only), an RFC 3339 date-time (with or
// without fraction, "Z" or an offset) or epoch seconds / milliseconds (UTC).
// dateOnly reports a bare date.
func parseTime(v gjson.Result) (t time.Time, dateOnly bool, r Reason) {
	switch v.Type {
	case gjson.String:
		s := strings.TrimSpace(v.Str)
		if len(s) == len(dateLayout) {
			t, err := time.Parse(dateLayout, s)
			return t, true, badIf(err)
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		return t, false, badIf(err)
	case gjson.Number:
		n := v.Num
		if math.Abs(n) >= epochMillisFrom {
			n /= 1000
		}
		sec := math.Floor(n)
		if sec < minEpoch || sec > maxEpoch {
			return time.Time{}, false, ReasonBadDate
		}
		return time.Unix(int64(sec), 0).UTC(), false, ""
	case gjson.True, gjson.False:
		return time.Time{}, false, ReasonBadDate
	}
	return time.Time{}, false, ReasonWrongType
}

// Epoch seconds of 0001-01-01 and 9999-12-31T23:59:59Z: four-digit years.
const (
	minEpoch = -62135596800
	maxEpoch = 253402300799
)

func badIf(err error) Reason {
	if err != nil {
		return ReasonBadDate
	}
	return ""
}

// appendDate appends "yyyy-MM-dd": the date as written for ISO dates and
// date-times (in their own offset), the UTC date for epoch numbers.
func appendDate(dst []byte, v gjson.Result) ([]byte, Reason) {
	t, _, r := parseTime(v)
	if r != "" {
		return dst, r
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, dateLayout)
	return append(dst, '"'), ""
}

// appendDatetime appends "yyyy-MM-ddTHH:mm:ss±HH:mm" in the value's own
// offset (UTC for "Z" and epoch numbers), the fraction dropped. A bare date
// is refused: its time and zone would be a guess.
func appendDatetime(dst []byte, v gjson.Result) ([]byte, Reason) {
	t, dateOnly, r := parseTime(v)
	if r != "" {
		return dst, r
	}
	if dateOnly {
		return dst, ReasonBadDate
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, datetimeLayout)
	return append(dst, '"'), ""
}
