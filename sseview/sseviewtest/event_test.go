package sseviewtest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview/sseviewtest"
)

// TestTheZeroEventIsNothing: the Event that Next returns with an error is
// neither an event nor a comment, and prints as nothing, so that a test
// that logs it is not misled into seeing an empty comment.
func TestTheZeroEventIsNothing(t *testing.T) {
	s := sseviewtest.OpenT(t, streamThenEnd("data: x\n\n"), httptest.NewRequest(http.MethodGet, "/", nil))
	s.Expect(t, msg("x", ""))
	ev, err := s.Next()
	require.Equal(t, io.EOF, err)
	assert.Equal(t, sseviewtest.Event{}, ev)
	assert.False(t, ev.IsComment(), "the zero Event is not a comment")
	assert.Equal(t, "{}", ev.String())
}

// TestAnEmptyCommentIsAComment: a comment line that is a colon alone is
// still a comment, told apart from the zero Event, and prints as one.
func TestAnEmptyCommentIsAComment(t *testing.T) {
	s := sseviewtest.OpenT(t, stream(":\n: \n:x\ndata: y\n\n"), httptest.NewRequest(http.MethodGet, "/", nil))
	s.Comments = true
	ev, err := s.Next()
	require.NoError(t, err)
	assert.True(t, ev.IsComment())
	assert.NotEqual(t, sseviewtest.Event{}, ev)
	assert.Equal(t, `{Comment: ":"}`, ev.String())
	s.Expect(t,
		sseviewtest.Event{Comment: ": "},
		sseviewtest.Event{Comment: ":x"},
		msg("y", ""),
	)
}

func TestEventString(t *testing.T) {
	for want, ev := range map[string]sseviewtest.Event{
		`{}`:                                     {},
		`{Comment: ": keep-alive"}`:              {Comment: ": keep-alive"},
		`{Type: "chat", Data: "hi", ID: "7"}`:    {Type: "chat", Data: "hi", ID: "7"},
		`{Type: "message", Data: ""}`:            {Type: "message"},
		`{Type: "message", Data: "", Retry: 2s}`: {Type: "message", Retry: 2e9},
		`{Type: "", Data: "x"}`:                  {Data: "x"}, // hand-made: an event needs a type
		`{Type: "a", Data: "", Comment: ": c"}`:  {Type: "a", Comment: ": c"},
		`{Type: "", Data: "", ID: "only an id"}`: {ID: "only an id"},
	} {
		assert.Equal(t, want, ev.String())
	}
}
