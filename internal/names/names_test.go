package names

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckTopic(t *testing.T) {
	valid := []string{"a", "room.42", "weather.40_71.-74_01", "A-Z_0-9", strings.Repeat("a", MaxTopicLen), strings.Repeat("a.", MaxTopicLen/2) + "a"}
	for _, topic := range valid {
		if err := CheckTopic(topic); err != nil {
			t.Errorf("CheckTopic(%q) = %v, want nil", topic, err)
		}
	}
	invalid := []string{
		"", ".", "a.", ".a", "a..b", "room.a b", "room.*", "room.>", "a/b", "a:b", "é", "a\x00", "a\tb",
		strings.Repeat("a", MaxTopicLen+1),
	}
	for _, topic := range invalid {
		err := CheckTopic(topic)
		if !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("CheckTopic(%q) = %v, want an error wrapping ErrInvalidTopic", topic, err)
		}
	}
}

func TestCheckTopicErrorIsBounded(t *testing.T) {
	err := CheckTopic(strings.Repeat("a", 100_000) + " ")
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error of a 100 KB topic: %d bytes: %.300v", len(err.Error()), err)
	}
	if !strings.HasPrefix(err.Error(), "sseview: invalid topic ") {
		t.Errorf("error %q lacks the sseview prefix", err)
	}
}

func TestCheckKey(t *testing.T) {
	valid := []string{"a", "40.71,-74.01@2026-12-01T09:15", "!~", strings.Repeat("k", MaxKeyLen)}
	for _, key := range valid {
		if err := CheckKey(key); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", key, err)
		}
	}
	invalid := []string{"", " a", "a b", "a\n", "a\x00", "\x7f", "é", strings.Repeat("k", MaxKeyLen+1)}
	for _, key := range invalid {
		if err := CheckKey(key); err == nil {
			t.Errorf("CheckKey(%q) = nil, want an error", key)
		}
	}
	if err := CheckKey(strings.Repeat("k", 100_000)); len(err.Error()) > 200 {
		t.Errorf("error of a 100 KB key is %d bytes", len(err.Error()))
	}
}
