// Package tables is how the operators' commands and the demo print what
// they found: box tables (olekukonko/tablewriter) with headers as written
// (Zoho field API names stay Last_Name, not LAST NAME), tables fitted to the
// terminal width, and the small formats the commands share (times, keys,
// counts of partitions). It holds presentation only: the commands' logic
// lives in groupoffsets, preflight, dlq and demo, which hand it values.
//
// Guarantees: a fitted table's cells are one line each and are cut with
// "…", never wrapped; output is deterministic for the same input.
package tables

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"golang.org/x/term"
)

// DefaultWidth is the width tables are shortened to when stdout is not a
// terminal (and $COLUMNS is not set).
const DefaultWidth = 120

// New is a table that shows headers as written (Zoho field API names).
func New(out io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(out, tablewriter.WithHeaderAutoFormat(tw.Off))
}

// Width is the terminal width of out, else $COLUMNS, else DefaultWidth.
func Width(out io.Writer) int {
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return DefaultWidth
}

// Fitted renders a table no wider than width: cells are made one line,
// and shrinkable columns (shrink[i]) are cut (with "…"), the widest first,
// until the table fits. Columns never shrink below a few characters, so a
// very narrow width yields a table somewhat wider than asked. rows' cells are
// rewritten in place (made one line).
func Fitted(out io.Writer, width int, header []string, rows [][]string, shrink []bool) {
	const minWidth = 6
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = runewidth.StringWidth(h)
	}
	for _, row := range rows {
		for i := range row {
			row[i] = strings.Join(strings.Fields(row[i]), " ")
			widths[i] = max(widths[i], runewidth.StringWidth(row[i]))
		}
	}
	// A box table adds "│ " before each column, " " after it and a final "│".
	budget := width - 3*len(header) - 1
	total := 0
	for _, w := range widths {
		total += w
	}
	for total > budget {
		widest := -1
		for i, w := range widths {
			if shrink[i] && w > minWidth && (widest < 0 || w > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			break
		}
		widths[widest]--
		total--
	}
	t := tablewriter.NewTable(out,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	cut := func(cells []string) []string {
		outCells := make([]string, len(cells))
		for i, c := range cells {
			outCells[i] = runewidth.Truncate(c, widths[i], "…")
		}
		return outCells
	}
	t.Header(cut(header))
	for _, row := range rows {
		_ = t.Append(cut(row))
	}
	_ = t.Render()
}

// Time is t in UTC as RFC 3339 (seconds), "-" when zero.
func Time(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Printable shows a key as text, quoted (strconv.Quote) when it holds
// control characters or invalid UTF-8, "-" when nil.
func Printable(b []byte) string {
	if b == nil {
		return "-"
	}
	s := string(b)
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}

// Partitions is "1 partition" or "N partitions".
func Partitions(n int) string {
	if n == 1 {
		return "1 partition"
	}
	return fmt.Sprintf("%d partitions", n)
}

// Shorten is s on one line, cut to n runes with "…" when longer.
func Shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// Offset is a record's place in a topic: the offset, prefixed by its
// partition and ":" when the partition is not 0 ("1200", "2:37").
func Offset(partition int32, offset int64) string {
	if partition == 0 {
		return strconv.FormatInt(offset, 10)
	}
	return fmt.Sprintf("%d:%d", partition, offset)
}
