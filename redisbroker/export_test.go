package redisbroker

// Subscribers returns how many subscriptions of this instance are on the
// topic's live feed, and whether the feed exists at all.
func (b *Broker) Subscribers(topic string) (n int, feed bool) {
	b.mu.Lock()
	f := b.feeds[b.prefix+"{"+topic+"}"]
	b.mu.Unlock()
	if f == nil {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subs.Len(), true
}

// Feeds returns how many live feeds this instance runs.
func (b *Broker) Feeds() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.feeds)
}

// EntryID returns the Redis entry id an event id of topic stands for, and
// whether it is one of topic's.
func (b *Broker) EntryID(topic, eventID string) (string, bool) {
	key := b.prefix + "{" + topic + "}"
	id, ok := parseEventID(idPrefix(key), eventID)
	return id.String(), ok
}

// EventID returns the event id of the Redis entry id of topic.
func (b *Broker) EventID(topic, entryID string) string {
	key := b.prefix + "{" + topic + "}"
	id, err := parseStreamID(entryID)
	if err != nil {
		panic(err)
	}
	return id.eventID(idPrefix(key))
}
