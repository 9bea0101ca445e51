package redisbroker

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/sseview"
)

// An event is a stream entry with these fields: its data (always written by
// Publish, even when empty), its type when it has one, and its retry in
// milliseconds when it has one. Its id is the entry's id.
const (
	dataField  = "data"
	typeField  = "type"
	retryField = "retry"
)

// entryFields returns the field-value pairs of the entry for t.
func entryFields(t sseview.Text) []any {
	f := make([]any, 0, 6)
	f = append(f, dataField, t.Data)
	if t.Type != "" {
		f = append(f, typeField, t.Type)
	}
	if t.Retry > 0 {
		f = append(f, retryField, strconv.FormatInt(t.Retry.Milliseconds(), 10))
	}
	return f
}

// decode turns a stream entry into the event subscribers receive. Entries
// added by something other than [Broker.Publish] are events too
// (`XADD sseview:{room.42} * data hello`) as long as they have no fields but
// these three; anything else is not an event and fails.
func decode(key, prefix string, id streamID, fields map[string]any) (*sseview.Encoded, error) {
	t := sseview.Text{ID: id.eventID(prefix)}
	for name, v := range fields {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("redisbroker: entry %s of %s: field %s is not a string", id, key, quote.Bounded(name))
		}
		switch name {
		case dataField:
			t.Data = s
		case typeField:
			t.Type = s
		case retryField:
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil || ms < 0 || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
				return nil, fmt.Errorf("redisbroker: entry %s of %s: field retry %s is not a number of milliseconds", id, key, quote.Bounded(s))
			}
			t.Retry = time.Duration(ms) * time.Millisecond
		default:
			return nil, fmt.Errorf("redisbroker: entry %s of %s: field %s is none of data, type and retry", id, key, quote.Bounded(name))
		}
	}
	enc, err := sseview.Encode(t)
	if err != nil {
		return nil, fmt.Errorf("redisbroker: entry %s of %s: %w", id, key, err)
	}
	return enc, nil
}
