// Package brokertest is the conformance suite of [sseview.Broker]: the
// behaviour every broker must have, run the same way against each
// implementation. It depends on nothing but the standard library and
// sseview, so a broker of your own can run it without new dependencies.
//
//	func TestMyBroker(t *testing.T) {
//		brokertest.Run(t, func(t *testing.T, l brokertest.Limits) sseview.Broker {
//			b, err := mybroker.New(mybroker.Config{MaxEvents: l.MaxEvents, MaxAge: l.MaxAge, QueueLen: l.QueueLen})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() {
//				if err := b.Close(); err != nil {
//					t.Error(err)
//				}
//			})
//			return b
//		})
//	}
//
// The suite never sleeps: it waits for events with a deadline, and where
// it cannot know when a subscription is in place it publishes warm-up
// events (type "brokertest-warm-up") until the subscription has one.
//
// Every subscription the suite opens ends by the end of its test, so a
// broker that keeps a goroutine per finished subscription leaks. The suite
// cannot see that itself; a leak checker in the package's TestMain (such
// as go.uber.org/goleak's VerifyTestMain, which both brokers of this
// repository use) can, and is advised.
package brokertest

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sseview/sseview/sseview"
)

// Limits are the settings a test asks of the broker under test. Each means
// what the [sseview.Broker] contract says of the setting of that name:
// zero is the default (1000 events, one hour, 256 events), negative is no
// limit. Pass them to the broker unchanged.
type Limits struct {
	// MaxEvents is how many events each topic keeps for resume.
	MaxEvents int
	// MaxAge is how long events are kept for resume. When positive it is
	// at least 100ms (JetStream's smallest MaxAge).
	MaxAge time.Duration
	// QueueLen is how many events a subscriber may have waiting before it
	// is dropped with [sseview.ErrSlowSubscriber].
	QueueLen int
}

// Wait bounds every wait of the suite for something that should happen at
// once. It is generous because the suite runs under -race on busy machines;
// a passing run never waits for it.
var Wait = 10 * time.Second

// Run runs the behaviour every sseview.Broker must have. newBroker returns a
// fresh, empty broker (fresh topics are fine too) with the given limits; it
// registers its own cleanup on t.
//
// Besides the [sseview.Broker] contract, Run checks that every id a broker
// gives or yields is plain ([A-Za-z0-9._:-], at most 128 bytes), and that
// the ids of a topic increase in the order of (length, then bytes): the
// order of decimal numbers without leading zeros, after a fixed prefix if
// any.
//
// Passing it means: topics and keys are accepted and refused exactly as
// the contract says, with nothing published for a refusal; live events
// reach every subscriber once and in order, exactly as published; resuming
// from any id the broker gave yields the rest once and in order, or a reset
// when the history no longer reaches it, never a silent gap; a keyed event
// published again is stored and delivered once; a slow subscriber yields
// exactly its queued events and then ErrSlowSubscriber; zero and negative
// MaxEvents and QueueLen mean the same as in every other broker; and every
// subscription ends promptly when its caller leaves. Run does not test
// durability, several instances, how long a duplicate window lasts, or
// MaxAge's zero and negative values (that would take an hour).
func Run(t *testing.T, newBroker func(t *testing.T, l Limits) sseview.Broker) {
	t.Helper()
	s := &suite{newBroker: newBroker}
	t.Run("live events reach every subscriber in order", s.liveFanOut)
	t.Run("ids are given by the broker, plain, short and increasing", s.ids)
	t.Run("events arrive as published", s.fidelity)
	t.Run("an invalid event is refused and reaches no one", s.invalid)
	t.Run("an invalid topic is refused and nothing is published", s.invalidTopics)
	t.Run("a topic of every allowed form works", s.validTopics)
	t.Run("a keyed event published twice is stored and delivered once", s.keyedOnce)
	t.Run("keys are per topic", s.keysPerTopic)
	t.Run("concurrent publishes of one key store one event", s.keyedConcurrently)
	t.Run("an invalid key is refused and nothing is published", s.invalidKeys)
	t.Run("resuming from any point gets the rest once, in order, then live", s.resumeEveryPoint)
	t.Run("resuming while events are published has no gap or duplicate", s.resumeUnderLoad)
	t.Run("an empty Last-Event-ID gets only new events", s.emptyID)
	t.Run("an id evicted by count starts with a reset", s.evictedByCount)
	t.Run("an id evicted by age starts with a reset", s.evictedByAge)
	t.Run("MaxEvents zero keeps 1000 events, negative keeps all", s.maxEventsDefaults)
	t.Run("a malformed or unknown id starts with a reset", s.unknownID)
	t.Run("a slow subscriber yields its queue, then ErrSlowSubscriber", s.slowSubscriber)
	t.Run("a negative QueueLen never drops a subscriber", s.unboundedQueue)
	t.Run("topics are isolated", s.isolation)
	t.Run("a subscriber that leaves stops promptly", s.leaving)
}

type suite struct {
	newBroker func(t *testing.T, l Limits) sseview.Broker
	mu        sync.Mutex
	topics    int
}

// maxNameInTopic bounds the part of a topic taken from the test's name, so
// that a topic plus a token of a test stays well under the topic limit.
const maxNameInTopic = 100

// topic returns a topic name no other test of this Run uses.
func (s *suite) topic(t *testing.T) string {
	s.mu.Lock()
	s.topics++
	n := s.topics
	s.mu.Unlock()
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, t.Name())
	if len(name) > maxNameInTopic {
		name = name[len(name)-maxNameInTopic:]
	}
	return "brokertest." + name + "." + strconv.Itoa(n)
}
