package quote

import (
	"strings"
	"testing"
)

func TestBounded(t *testing.T) {
	long := strings.Repeat("a", 900_000)
	cases := []struct{ in, want string }{
		{"", `""`},
		{"room.a b", `"room.a b"`},
		{"a\x00b", `"a\x00b"`},
		{strings.Repeat("x", MaxBytes), `"` + strings.Repeat("x", MaxBytes) + `"`},
		{long, `"` + strings.Repeat("a", MaxBytes) + `"... (900000 bytes)`},
		// A rune that straddles the cut is left out whole, not split.
		{strings.Repeat("x", MaxBytes-1) + "é" + "y", `"` + strings.Repeat("x", MaxBytes-1) + `"... (66 bytes)`},
		// Bytes that are not UTF-8 are still cut at MaxBytes.
		{strings.Repeat("\x80", MaxBytes+1), `"` + strings.Repeat(`\x80`, MaxBytes) + `"... (65 bytes)`},
	}
	for _, c := range cases {
		if got := Bounded(c.in); got != c.want {
			t.Errorf("Bounded(%.20q...) = %s, want %s", c.in, got, c.want)
		}
	}
	if n := len(Bounded(long)); n > 2*MaxBytes {
		t.Errorf("Bounded of a 900 KB value is %d bytes", n)
	}
}
