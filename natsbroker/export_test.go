package natsbroker

// Subscribers returns how many subscriptions of this instance are on the
// topic's live feed, and whether the feed exists at all.
func (b *Broker) Subscribers(topic string) (n int, feed bool) {
	b.mu.Lock()
	h := b.hubs[b.prefix+"."+topic]
	b.mu.Unlock()
	if h == nil {
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subs.Len(), true
}

// Feeds returns how many live feeds this instance runs.
func (b *Broker) Feeds() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.hubs)
}
