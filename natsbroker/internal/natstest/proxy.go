package natstest

import (
	"net"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
)

// Proxy forwards TCP connections on 127.0.0.1 to a [Server] and can pause
// them: while paused it forwards nothing either way, so the server seems
// to keep the connection open and answer nothing, as a NATS server stopped
// with SIGSTOP does. What was sent meanwhile is forwarded on Resume.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	closed chan struct{}

	mu      sync.Mutex
	paused  bool
	resumed chan struct{} // closed by Resume
	conns   []net.Conn
}

// Proxy starts a proxy to s, closed at t.Cleanup.
func (s *Server) Proxy(t testing.TB) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("natstest: proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: s.srv.Addr().String(), closed: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

// URL is the address clients connect to through the proxy.
func (p *Proxy) URL() string { return "nats://" + p.ln.Addr().String() }

// Connect opens a client connection through the proxy, as
// [Server.Connect] does.
func (p *Proxy) Connect(t testing.TB, opts ...nats.Option) *nats.Conn {
	t.Helper()
	return connect(t, p.URL(), opts)
}

// Pause stops forwarding until Resume.
func (p *Proxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.paused {
		p.paused, p.resumed = true, make(chan struct{})
	}
}

// Resume forwards again, starting with what waited.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused {
		p.paused = false
		close(p.resumed)
	}
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

// pipe copies from src to dst, holding each chunk while paused.
func (p *Proxy) pipe(dst, src net.Conn) {
	defer func() { _ = dst.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.gate() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or closed
		}
	}
}

// gate waits while the proxy is paused; false means it was closed.
func (p *Proxy) gate() bool {
	for {
		p.mu.Lock()
		paused, resumed := p.paused, p.resumed
		p.mu.Unlock()
		if !paused {
			return true
		}
		select {
		case <-resumed:
		case <-p.closed:
			return false
		}
	}
}

func (p *Proxy) close() {
	close(p.closed)
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
