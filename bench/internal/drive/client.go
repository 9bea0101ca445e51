package drive

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/sseview/sseview/bench/internal/wire"
)

// newTransport returns a transport that opens one connection per stream,
// with at most dialers dials in flight (10,000 at once would overflow the
// listen backlog). The wait for response headers is not limited: go-sse's
// Server sends its headers only with the first event.
func newTransport(dialers int) *http.Transport {
	sem := make(chan struct{}, dialers)
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		DisableKeepAlives:  true,
		DisableCompression: true,
		MaxConnsPerHost:    0,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			defer func() { <-sem }()
			return d.DialContext(ctx, network, addr)
		},
	}
}

// stream is one open event stream.
type stream struct {
	resp *http.Response
	r    *wire.Reader
}

// open requests url as an EventSource would and checks that the answer is
// an event stream.
func open(ctx context.Context, c *http.Client, url string) (*stream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		resp.Body.Close()
		return nil, fmt.Errorf("status %s: %q", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("Content-Type %q", ct)
	}
	return &stream{resp: resp, r: wire.NewReader(resp.Body)}, nil
}

func (s *stream) close() { s.resp.Body.Close() }

// stuck is a subscriber that stops reading once it is subscribed: a tiny
// receive buffer so that the server's writes to it block soon.
type stuck struct{ conn net.Conn }

func openStuck(ctx context.Context, addr, path string) (*stuck, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &stuck{conn: conn}, nil
}

// waitSubscribed reads until a warm-up event arrives, then reads no more.
func (s *stuck) waitSubscribed(deadline time.Time) error {
	_ = s.conn.SetReadDeadline(deadline)
	defer s.conn.SetReadDeadline(time.Time{})
	var seen []byte
	buf := make([]byte, 512)
	for {
		n, err := s.conn.Read(buf)
		seen = append(seen, buf[:n]...)
		if strings.Contains(string(seen), "data: -1 ") {
			return nil
		}
		if err != nil {
			return fmt.Errorf("stuck subscriber: %w", err)
		}
	}
}

func (s *stuck) close() { s.conn.Close() }
