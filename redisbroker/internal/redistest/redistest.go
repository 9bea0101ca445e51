// Package redistest runs a real redis-server for the broker's tests: its
// own process on a free 127.0.0.1 port, storing in a temporary directory of
// the test, stopped at t.Cleanup. There is no fake Redis.
//
// Without redis-server on $PATH the tests skip and say how to install it;
// with CI set in the environment (as .ci/run has it) they fail instead, so CI
// never skips them.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ReadyWait bounds how long a redis-server may take to accept connections.
const ReadyWait = 20 * time.Second

// Server is one redis-server process, restartable on the same port and
// data directory as an operator would restart it.
type Server struct {
	t    testing.TB
	bin  string
	port int
	dir  string

	args []string // extra redis-server arguments

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{} // closed when cmd has exited and its output is read
}

// Start starts redis-server with the append-only file on and fsynced at
// every write, so that a kill -9 loses nothing, and no RDB snapshots. args
// are more redis-server arguments, which override those
// ("--appendfsync", "everysec").
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redistest: redis-server is not installed; install it with `apt-get install -y redis-server` (Debian/Ubuntu) to run these tests"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI must not skip them)")
		}
		t.Skip(msg)
	}
	s := &Server{t: t, bin: bin, port: freePort(t), dir: t.TempDir(), args: args}
	s.Up()
	t.Cleanup(s.Kill)
	return s
}

// freePort returns a port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// URL is the redis:// URL of the server's database 0.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Up starts the server (again, when it was stopped), and returns once it
// accepts connections. It waits for the line redis-server logs when it is
// ready, not for a guess at how long starting takes.
func (s *Server) Up() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "",
		"--daemonize", "no", "--protected-mode", "no", "--logfile", "", "--loglevel", "notice",
	}, s.args...)
	cmd := exec.Command(s.bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("redistest: start %s: %v", s.bin, err)
	}
	ready := make(chan struct{})
	exit := make(chan struct{})
	var log strings.Builder // what it said, for a failure message
	var logMu sync.Mutex
	go func() {
		defer close(exit)
		r := bufio.NewReader(out)
		signalled := false
		for {
			line, err := r.ReadString('\n')
			logMu.Lock()
			if log.Len() < 16<<10 {
				log.WriteString(line)
			}
			logMu.Unlock()
			if !signalled && strings.Contains(line, "Ready to accept connections") {
				signalled = true
				close(ready)
			}
			if err != nil {
				_, _ = io.Copy(io.Discard, r)
				_ = cmd.Wait()
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-exit:
		logMu.Lock()
		defer logMu.Unlock()
		s.t.Fatalf("redistest: redis-server exited before it was ready:\n%s", log.String())
	case <-time.After(ReadyWait):
		_ = cmd.Process.Kill()
		<-exit
		s.t.Fatalf("redistest: redis-server not ready within %v", ReadyWait)
	}
	s.cmd, s.exit = cmd, exit
}

// Kill ends the server with SIGKILL, as a crash would, and waits until it
// has exited. Its append-only file keeps every write it acknowledged. It is
// safe to call when the server is not running.
func (s *Server) Kill() { s.stop(syscall.SIGKILL) }

// Stop ends the server with SIGTERM, as an operator would, and waits until
// it has exited.
func (s *Server) Stop() { s.stop(syscall.SIGTERM) }

func (s *Server) stop(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot handle SIGTERM
	_ = s.cmd.Process.Signal(sig)
	<-s.exit
	s.cmd, s.exit = nil, nil
}

// Pause freezes the server with SIGSTOP: connections stay open and nothing
// answers, as with a server stuck on a slow disk or a network partition.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume undoes Pause.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		s.t.Fatalf("redistest: %v to a server that is not running", sig)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redistest: %v: %v", sig, err)
	}
}

func (s *Server) String() string { return fmt.Sprintf("redis-server on %s (%s)", s.Addr(), s.dir) }
