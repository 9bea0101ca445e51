package sseview

import (
	"strings"
	"testing"
)

func BenchmarkEncode(b *testing.B) {
	cases := []struct {
		name string
		ev   Event
	}{
		{"text/64B", Text{Type: "update", ID: "12345", Data: strings.Repeat("x", 64)}},
		{"text/1KiB", Text{Type: "update", ID: "12345", Data: strings.Repeat("x", 1024)}},
		// The longest ids the id rule allows, ASCII and not: its check reads every byte.
		{"text/64B-id256B", Text{Type: "update", ID: strings.Repeat("k3x-", 64), Data: strings.Repeat("x", 64)}},
		{"text/64B-id256B-utf8", Text{Type: "update", ID: strings.Repeat("é", 128), Data: strings.Repeat("x", 64)}},
		{"multiline/16x64B", Text{Data: strings.Repeat(strings.Repeat("y", 63)+"\n", 16)}},
		{"crlf/16x64B", Text{Data: strings.Repeat(strings.Repeat("y", 62)+"\r\n", 16)}},
		{"json/small", JSON{Type: "weather", ID: "12345", Data: map[string]any{"temp": 21.5, "wind": 12, "condition": "sunny"}}},
		{"comment", Comment("keep-alive")},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, err = appendEvent(buf[:0], c.ev)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}
