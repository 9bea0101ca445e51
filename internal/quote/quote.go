// Package quote formats values that came from users for error messages,
// so that no error echoes an unbounded value: a 900 KB URL must not become
// a 1.5 MB response body or log line.
package quote

import (
	"strconv"
	"unicode/utf8"
)

// MaxBytes is how much of a value an error message quotes.
const MaxBytes = 64

// Bounded returns s quoted as by strconv.Quote when it is at most MaxBytes
// long. A longer s is cut to at most MaxBytes at a rune boundary, quoted,
// and followed by its whole length: `"abc"... (900000 bytes)`.
func Bounded(s string) string {
	if len(s) <= MaxBytes {
		return strconv.Quote(s)
	}
	cut := MaxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if cut == 0 { // no rune boundary in reach: cut at the byte
		cut = MaxBytes
	}
	return strconv.Quote(s[:cut]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}
