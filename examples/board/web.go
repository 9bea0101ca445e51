package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"iter"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sseview/sseview/sseview"
)

//go:embed web/page.html
var pageHTML string

// vendorFiles are the pinned client libraries, served from /vendor/ (see
// web/vendor/fetch.sh and SHA256SUMS): the page loads nothing from a CDN.
//
//go:embed web/vendor/htmx.min.js web/vendor/sse.min.js
var vendorFiles embed.FS

// Pages renders the board's page and fragments. The templates escape every
// user's text: a message holding "</div><script>" shows as text.
type Pages struct{ t *template.Template }

// NewPages parses the templates.
func NewPages() *Pages {
	funcs := template.FuncMap{"columns": func() []string { return columns }}
	return &Pages{t: template.Must(template.New("board").Funcs(funcs).Parse(pageHTML))}
}

// Message renders one message, as appended to the list.
func (p *Pages) Message(m Message) sseview.Renderer { return sseview.Template(p.t, "message", m) }

// Columns renders the columns' content.
func (p *Pages) Columns(cards []Card) sseview.Renderer {
	return sseview.Template(p.t, "columns", cards)
}

// Board renders the whole board, for a page whose state is stale.
func (p *Pages) Board(s Snapshot) sseview.Renderer { return sseview.Template(p.t, "board", s) }

// routes returns the board's HTTP handler.
func routes(board *Board, logger *slog.Logger) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer)

	r.Get("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := board.Pages.t.ExecuteTemplate(w, "page", board.Snapshot()); err != nil {
			logger.ErrorContext(r.Context(), "board: page", "err", err)
		}
	})
	vendor, err := fs.Sub(vendorFiles, "web/vendor")
	if err != nil {
		panic(err) // the embedded directory is there: a build without it fails
	}
	r.Handle("/vendor/*", http.StripPrefix("/vendor/", http.FileServerFS(vendor)))

	// htmx's SSE extension opens its EventSource here with GET.
	r.Handle("/events", &sseview.Handler{View: htmxStream{board}, Logger: logger})
	r.Post("/messages", func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			answer(w, r, err, logger)
			return
		}
		_, err := board.Post(r.Context(), r.PostFormValue("author"), r.PostFormValue("text"))
		answer(w, r, err, logger)
	})
	r.Post("/cards/{id}/move", func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(w, r); err != nil {
			answer(w, r, err, logger)
			return
		}
		id, err := strconv.Atoi(chi.URLParam(r, "id"))
		if err != nil {
			http.Error(w, "board: the card id is not a number", http.StatusBadRequest)
			return
		}
		answer(w, r, board.Move(r.Context(), id, r.PostFormValue("to")), logger)
	})

	// Datastar's client opens its streams with fetch: @get or @post.
	r.Handle("/datastar/events", &sseview.Handler{View: datastarStream{board}, Logger: logger,
		Methods: []string{http.MethodGet, http.MethodPost}})
	r.Handle("/datastar/messages", &sseview.Handler{View: datastarPost{board}, Logger: logger,
		Methods: []string{http.MethodPost}})
	return r
}

// parseForm parses a form of at most 16 KiB. PostFormValue alone would
// take a form cut short by the limit as one with empty fields.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return fmt.Errorf("%w: the form does not parse", ErrInvalid)
	}
	return nil
}

// answer ends a form post: 204 for htmx's hx-swap="none", or the reason
// it was refused.
func answer(w http.ResponseWriter, r *http.Request, err error, logger *slog.Logger) {
	var tooLarge *http.MaxBytesError
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrInvalid):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.As(err, &tooLarge):
		http.Error(w, "board: the form is too large", http.StatusRequestEntityTooLarge)
	default:
		logger.ErrorContext(r.Context(), "board: publish", "err", err)
		http.Error(w, "board: the change was not published", http.StatusInternalServerError)
	}
}

// htmxStream streams the board's changes as HTML fragments for htmx.
type htmxStream struct{ board *Board }

// Accept refuses a since parameter that could not be a Last-Event-ID.
func (v htmxStream) Accept(r *http.Request, _ sseview.Params) error {
	if len(r.URL.Query().Get("since")) > sseview.MaxLastEventIDLen {
		return sseview.Refuse(http.StatusBadRequest, "board: since is not an event id")
	}
	return nil
}

func (v htmxStream) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return catchUp(ctx, v.board, topicHTMX, resumeFrom(r), func(s Snapshot, id string) sseview.Event {
		return sseview.HTML{Type: "board", ID: id, Fragment: v.board.Pages.Board(s)}
	})
}

// datastarStream streams the board's changes as Datastar patches.
type datastarStream struct{ board *Board }

func (v datastarStream) Stream(ctx context.Context, r *http.Request, _ sseview.Params) iter.Seq2[sseview.Event, error] {
	return catchUp(ctx, v.board, topicDatastar, resumeFrom(r), func(s Snapshot, id string) sseview.Event {
		return sseview.PatchElements{ID: id, Selector: "#board", Mode: "inner", Elements: v.board.Pages.Board(s)}
	})
}

// resumeFrom is the stream's Last-Event-ID, or on a first connection the
// since parameter: the id the page was rendered at, so that nothing
// published between the page and its stream is missed.
func resumeFrom(r *http.Request) string {
	if id := sseview.LastEventID(r); id != "" {
		return id
	}
	return r.URL.Query().Get("since")
}

// catchUp subscribes to topic from lastID. Where the broker cannot resume
// (a reset: the id is from before a restart or too old), it sends the
// whole board instead, built by full, and then skips the events the board
// already shows.
func catchUp(ctx context.Context, board *Board, topic, lastID string,
	full func(s Snapshot, id string) sseview.Event) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		skipUntil := ""
		for ev, err := range board.Broker.Subscribe(ctx, topic, lastID) {
			if err != nil {
				yield(nil, err)
				return
			}
			t, err := ev.MarshalEvent()
			if err != nil {
				yield(nil, err)
				return
			}
			switch {
			case t.Type == sseview.ResetEventType:
				s := board.Snapshot()
				id := s.lastIDOf(topic)
				if id == "" || id == t.ID {
					id, skipUntil = t.ID, ""
				} else {
					skipUntil = id
				}
				if !yield(full(s, id), nil) {
					return
				}
			case skipUntil != "":
				if t.ID == skipUntil {
					skipUntil = ""
				}
			default:
				if !yield(ev, nil) {
					return
				}
			}
		}
	}
}

// datastarPost is Datastar's @post('/datastar/messages'): it posts the
// message in the page's signals, then clears the text signal.
type datastarPost struct{ board *Board }

type postSignals struct {
	Author string `json:"author"`
	Text   string `json:"text"`
}

// Accept posts the message here rather than in Stream, so that malformed
// signals or a refused message are a 400 before the response starts.
func (v datastarPost) Accept(r *http.Request, _ sseview.Params) error {
	var s postSignals
	if err := sseview.ReadSignals(r, &s); err != nil {
		return err
	}
	if _, err := v.board.Post(r.Context(), s.Author, s.Text); err != nil {
		if errors.Is(err, ErrInvalid) {
			return sseview.Refuse(http.StatusBadRequest, err.Error())
		}
		return err
	}
	return nil
}

func (v datastarPost) Stream(context.Context, *http.Request, sseview.Params) iter.Seq2[sseview.Event, error] {
	return func(yield func(sseview.Event, error) bool) {
		yield(sseview.PatchSignals{Signals: map[string]string{"text": ""}}, nil)
	}
}
