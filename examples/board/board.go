package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/sseview/sseview/internal/quote"
	"github.com/sseview/sseview/sseview"
)

// Topics of the board's broker: every change is published once to each,
// as the fragment its clients swap in.
const (
	topicHTMX     = "board.htmx"     // sseview.HTML events for htmx's SSE extension
	topicDatastar = "board.datastar" // Datastar patch-elements events
)

// columns are the board's columns, in order.
var columns = []string{"todo", "doing", "done"}

// Limits on what a post may hold, so that one request cannot grow the
// board's memory or every client's page without bound.
const (
	maxAuthor   = 64   // bytes
	maxText     = 2000 // bytes
	maxMessages = 200  // kept; older ones leave the board
)

// Message is a posted message. Author and Text are the user's text, never
// markup: the templates escape them.
type Message struct {
	ID     int
	Author string
	Text   string
}

// Card is a card on the board.
type Card struct {
	ID     int
	Title  string
	Column string
}

// Snapshot is the board's state at one event of its topics.
type Snapshot struct {
	Messages []Message
	Cards    []Card
	Columns  []string
	// LastID is the htmx topic's id of the newest change in the snapshot:
	// a stream that starts from it misses nothing and repeats nothing.
	// LastDatastarID is the same on the Datastar topic.
	LastID, LastDatastarID string
}

func (s Snapshot) lastIDOf(topic string) string {
	if topic == topicDatastar {
		return s.LastDatastarID
	}
	return s.LastID
}

// ErrInvalid is wrapped by errors about a post or move the board refuses.
var ErrInvalid = errors.New("board: invalid request")

// Board is the shared state and the publisher of its changes. Changes are
// made and published under one lock, so the order of the events on each
// topic is the order of the changes, and a snapshot's LastID is exactly
// the event it includes last.
type Board struct {
	Broker sseview.Broker
	Pages  *Pages // renders the fragments

	mu       sync.Mutex
	messages []Message
	cards    []Card
	nextID   int
	lastID   string // of topicHTMX
	lastDSID string // of topicDatastar
}

// NewBoard returns a board with a few cards to move.
func NewBoard(b sseview.Broker, pages *Pages) *Board {
	board := &Board{Broker: b, Pages: pages}
	for _, title := range []string{"Write the board example", "Test it in Chromium", "Ship it"} {
		board.nextID++
		board.cards = append(board.cards, Card{ID: board.nextID, Title: title, Column: "todo"})
	}
	return board
}

// Snapshot returns a copy of the board's state.
func (b *Board) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Snapshot{Messages: slices.Clone(b.messages), Cards: slices.Clone(b.cards), Columns: columns,
		LastID: b.lastID, LastDatastarID: b.lastDSID}
}

// Post adds a message and publishes it to every open page.
func (b *Board) Post(ctx context.Context, author, text string) (Message, error) {
	if author == "" {
		author = "anonymous"
	}
	if err := checkText("author", author, maxAuthor); err != nil {
		return Message{}, err
	}
	if text == "" {
		return Message{}, fmt.Errorf("%w: the message is empty", ErrInvalid)
	}
	if err := checkText("message", text, maxText); err != nil {
		return Message{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nextID++
	m := Message{ID: b.nextID, Author: author, Text: text}
	b.messages = append(b.messages, m)
	if len(b.messages) > maxMessages {
		b.messages = slices.Delete(b.messages, 0, len(b.messages)-maxMessages)
	}
	html := sseview.HTML{Type: "message", Fragment: b.Pages.Message(m)}
	ds := sseview.PatchElements{Selector: "#messages", Mode: "append", Elements: b.Pages.Message(m)}
	return m, b.publish(ctx, html, ds)
}

// Move puts a card in another column and publishes the new columns.
func (b *Board) Move(ctx context.Context, id int, column string) error {
	if !slices.Contains(columns, column) {
		return fmt.Errorf("%w: no column %s", ErrInvalid, quote.Bounded(column))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.IndexFunc(b.cards, func(c Card) bool { return c.ID == id })
	if i < 0 {
		return fmt.Errorf("%w: no card %d", ErrInvalid, id)
	}
	b.cards[i].Column = column
	cols := b.Pages.Columns(slices.Clone(b.cards))
	return b.publish(ctx, sseview.HTML{Type: "cards", Fragment: cols},
		sseview.PatchElements{Selector: "#columns", Mode: "inner", Elements: cols})
}

// publish sends one change to both topics; b.mu is held.
func (b *Board) publish(ctx context.Context, html sseview.HTML, ds sseview.PatchElements) error {
	id, err := b.Broker.Publish(ctx, topicHTMX, html)
	if err != nil {
		return err
	}
	b.lastID = id
	if b.lastDSID, err = b.Broker.Publish(ctx, topicDatastar, ds); err != nil {
		return err
	}
	return nil
}

func checkText(what, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: the %s is %d bytes, more than %d", ErrInvalid, what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: the %s is not valid UTF-8", ErrInvalid, what)
	}
	return nil
}
