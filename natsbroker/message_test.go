package natsbroker_test

import (
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/internal/brokercheck"
	"github.com/sseview/sseview/natsbroker"
	"github.com/sseview/sseview/natsbroker/internal/natstest"
	"github.com/sseview/sseview/sseview"
)

func TestEventFieldsTravelExactly(t *testing.T) {
	b := newBroker(t, natstest.Start(t), natsbroker.Config{})
	cases := []sseview.Text{
		{Data: "plain message"},
		{Type: "weather", Data: `{"t":21.5}`},
		{Type: " padded type ", Data: " padded data "},
		{Type: `"quoted"`, Data: "line 1\nline 2\n"},
		{Type: "ünïcode ☂", Data: "ünïcode"},
		{Type: "tab\there", Data: ""},
		{Type: "r", Data: "x", Retry: 1500 * time.Millisecond},
		{Data: "nul\x00inside"},
	}
	encoded, err := sseview.Encode(sseview.Text{Type: "pre", ID: "old", Data: "encoded"})
	require.NoError(t, err)
	marker := brokercheck.Publish(t, b, "fields", "marker")
	s := brokercheck.Subscribe(t, b, "fields", marker)
	for _, want := range cases {
		id, err := b.Publish(t.Context(), "fields", sseview.Text{Type: want.Type, Data: want.Data, Retry: want.Retry, ID: "ignored"})
		require.NoError(t, err)
		want.ID = id
		assert.Equal(t, want, s.Next())
	}
	for _, c := range []struct {
		ev   sseview.Event
		want sseview.Text
	}{
		{sseview.JSON{Type: "reading", ID: "x", Data: map[string]any{"t": 21.5}}, sseview.Text{Type: "reading", Data: `{"t":21.5}`}},
		{encoded, sseview.Text{Type: "pre", Data: "encoded"}},
	} {
		id, err := b.Publish(t.Context(), "fields", c.ev)
		require.NoError(t, err)
		c.want.ID = id
		assert.Equal(t, c.want, s.Next())
	}
}

func TestForeignMessagesAreEvents(t *testing.T) {
	srv := natstest.Start(t)
	logs := &logCounter{counts: map[slog.Level]int{}}
	b := newBroker(t, srv, natsbroker.Config{Logger: slog.New(logs)})
	js, err := jetstream.New(srv.Connect(t))
	require.NoError(t, err)
	marker := brokercheck.Publish(t, b, "ops", "marker")
	s := brokercheck.Subscribe(t, b, "ops", marker)

	// What `nats pub sseview.ops hello` does.
	ack, err := js.Publish(t.Context(), "sseview.ops", []byte("hello"))
	require.NoError(t, err)
	assert.Equal(t, sseview.Text{ID: strconv.FormatUint(ack.Sequence, 10), Data: "hello"}, s.Next())

	// With headers set by hand, unquoted.
	msg := nats.NewMsg("sseview.ops")
	msg.Header.Set("Sseview-Type", "alert")
	msg.Header.Set("Sseview-Retry", "250")
	msg.Data = []byte("x")
	ack, err = js.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	assert.Equal(t, sseview.Text{ID: strconv.FormatUint(ack.Sequence, 10), Type: "alert", Data: "x", Retry: 250 * time.Millisecond}, s.Next())

	// Not an event: logged and skipped, the next one arrives.
	for _, bad := range []*nats.Msg{
		{Subject: "sseview.ops", Data: []byte("\xff")},
		{Subject: "sseview.ops", Header: nats.Header{"Sseview-Retry": {"soon"}}},
		{Subject: "sseview.ops", Header: nats.Header{"Sseview-Type": {`"unterminated`}}},
	} {
		_, err = js.PublishMsg(t.Context(), bad)
		require.NoError(t, err)
	}
	id := brokercheck.Publish(t, b, "ops", "after")
	assert.Equal(t, id, s.Next().ID)
	assert.Equal(t, 3, logs.count(slog.LevelError), "each skipped message is logged")
	// A catch-up over the same messages skips them too.
	again := brokercheck.Subscribe(t, b, "ops", marker)
	assert.Equal(t, "hello", again.Next().Data)
	assert.Equal(t, "x", again.Next().Data)
	assert.Equal(t, id, again.Next().ID)
	assert.Equal(t, 6, logs.count(slog.LevelError))
}
