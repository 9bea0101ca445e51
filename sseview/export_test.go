package sseview

// Views into a MemoryBroker for the tests of package sseview_test.

// TopicCount returns how many topics b holds.
func (b *MemoryBroker) TopicCount() int {
	b.init()
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.topics)
}

// SubscriberCount returns how many subscribers are registered on topic.
func (b *MemoryBroker) SubscriberCount(topic string) int {
	return b.inTopic(topic, func(t *memTopic) int { return t.subs.Len() })
}

// KeptCount returns how many events topic keeps.
func (b *MemoryBroker) KeptCount(topic string) int {
	return b.inTopic(topic, func(t *memTopic) int { return t.n })
}

// inTopic returns count of topic under its lock, or 0 when there is no
// such topic.
func (b *MemoryBroker) inTopic(topic string, count func(*memTopic) int) int {
	b.init()
	b.mu.RLock()
	t := b.topics[topic]
	b.mu.RUnlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return count(t)
}

// ShareForgottenSlot reports whether topics a and b share a horizon when
// forgotten.
func (b *MemoryBroker) ShareForgottenSlot(x, y string) bool {
	b.init()
	return b.bucket(x) == b.bucket(y)
}
