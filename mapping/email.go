package mapping

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkEmail rejects, with Zoho's code INVALID_DATA, an email that Zoho
// would certainly reject or mangle: longer than EmailMaxLength characters,
// or clearly malformed — not exactly one '@', an empty local part or domain,
// white space, control characters or unquoted specials (",;:<>()[]\ and
// quotes), a dot at either end of a part or two dots in a row, a domain
// without a dot or with a label starting or ending with '-'. It does not try
// to be a full RFC 5322 parser: anything subtler is left to Zoho.
func checkEmail(email string) (Rejection, bool) {
	if n := utf8.RuneCountInString(email); n > EmailMaxLength {
		return Rejection{
			Code:    CodeInvalidData,
			Message: fmt.Sprintf("email is %d characters long; Zoho's Email field holds at most %d", n, EmailMaxLength),
			Field:   FieldEmail,
			Details: fmt.Sprintf(`{"api_name":"Email","maximum_length":%d}`, EmailMaxLength),
		}, false
	}
	if why := emailProblem(email); why != "" {
		return Rejection{
			Code:    CodeInvalidData,
			Message: "email is not a valid address: " + why,
			Field:   FieldEmail,
			Details: `{"api_name":"Email","expected_data_type":"email"}`,
		}, false
	}
	return Rejection{}, true
}

// isEmailSpecial reports whether r is one of ",;:<>()[]\ and the double
// quote: characters allowed in an address only inside a quoted local part.
func isEmailSpecial(r rune) bool {
	switch r {
	case '"', ',', ';', ':', '<', '>', '(', ')', '[', ']', '\\':
		return true
	}
	return false
}

// emailProblem returns why email is clearly malformed, or "".
func emailProblem(email string) string {
	at := strings.IndexByte(email, '@')
	if at < 0 {
		return "no @"
	}
	if strings.IndexByte(email[at+1:], '@') >= 0 {
		return "more than one @"
	}
	local, domain := email[:at], email[at+1:]
	if local == "" {
		return "empty local part"
	}
	if domain == "" {
		return "empty domain"
	}
	for _, r := range email {
		switch {
		case r == utf8.RuneError:
			return "invalid UTF-8"
		case unicode.IsSpace(r):
			return "contains white space"
		case unicode.IsControl(r):
			return "contains a control character"
		case isEmailSpecial(r):
			return "contains a character not allowed unquoted"
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "misplaced dot in the local part"
	}
	if !strings.Contains(domain, ".") {
		return "domain has no dot"
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" {
			return "empty domain label"
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "domain label starts or ends with -"
		}
		for _, r := range label {
			if r < utf8.RuneSelf && !(r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
				return "domain contains a character not allowed in host names"
			}
		}
	}
	return ""
}
