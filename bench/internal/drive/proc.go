package drive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/sseview/sseview/bench/internal/serve"
)

// server is one bench server process.
type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string // the contestant's listener
	ctl   string // the control listener
	hc    *http.Client
}

// startServer starts the server process of contestant name, on core
// pinnedCPU alone when pinned.
func startServer(self, name string, pinned bool, args ...string) (*server, error) {
	argv := append([]string{self, "server", "-contestant", name}, args...)
	if pinned {
		argv = append([]string{"nice", "-n", strconv.Itoa(serverNice), "taskset", "-c", strconv.Itoa(pinnedCPU)}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin, hc: &http.Client{Timeout: 20 * time.Second}}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "LISTEN" {
			s.stop()
			return nil, fmt.Errorf("server %s did not start: %q %s", name, l, strings.TrimSpace(stderr.String()))
		}
		s.addr, s.ctl = f[1], f[2]
	case <-time.After(10 * time.Second):
		s.stop()
		return nil, fmt.Errorf("server %s did not start within 10s", name)
	}
	return s, nil
}

// stop ends the process, whatever state its contestant is in.
func (s *server) stop() {
	_ = s.stdin.Close()
	exited := make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(exited)
	}()
	// A server whose handlers are stuck would not exit; a profiled one
	// needs a moment to write its profile.
	select {
	case <-exited:
	case <-time.After(time.Second):
		_ = s.cmd.Process.Kill()
		<-exited
	}
	s.hc.CloseIdleConnections()
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

// cpuSeconds returns the server's user and system CPU time so far, from
// its own getrusage.
func (s *server) cpuSeconds() (float64, error) {
	c, err := s.cpu()
	return float64(c.UserMicros+c.SysMicros) / 1e6, err
}

// cpu returns the server's getrusage figures.
func (s *server) cpu() (serve.CPU, error) {
	var c serve.CPU
	err := s.ctlDo(context.Background(), http.MethodGet, "/cpu", nil, &c)
	return c, err
}

// rssBytes reads VmRSS of the process from /proc.
func (s *server) rssBytes() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseFloat(f[0], 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("drive: no VmRSS")
}

func (s *server) ctlDo(ctx context.Context, method, path string, q url.Values, out any) error {
	u := "http://" + s.ctl + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

func (s *server) stats(gc bool) (serve.Stats, error) {
	var st serve.Stats
	q := url.Values{}
	if gc {
		q.Set("gc", "1")
	}
	err := s.ctlDo(context.Background(), http.MethodGet, "/stats", q, &st)
	return st, err
}

func (s *server) publish(seq, size int) error {
	return s.ctlDo(context.Background(), http.MethodPost, "/publish",
		url.Values{"seq": {strconv.Itoa(seq)}, "size": {strconv.Itoa(size)}}, nil)
}

func (s *server) run(n, rate, size int) error { return s.runFrom(0, n, rate, size) }

// runFrom publishes events from..from+n-1 at rate per second, in the
// background.
func (s *server) runFrom(from, n, rate, size int) error {
	return s.ctlDo(context.Background(), http.MethodPost, "/run", url.Values{"from": {strconv.Itoa(from)},
		"n": {strconv.Itoa(n)}, "rate": {strconv.Itoa(rate)}, "size": {strconv.Itoa(size)}}, nil)
}

func (s *server) runStatus() (serve.RunStatus, error) {
	var st serve.RunStatus
	err := s.ctlDo(context.Background(), http.MethodGet, "/run", nil, &st)
	return st, err
}

func (s *server) tick(period time.Duration) error {
	return s.ctlDo(context.Background(), http.MethodPost, "/tick", url.Values{"period": {period.String()}}, nil)
}

func (s *server) shutdown(timeout time.Duration) (serve.ShutdownResult, error) {
	var res serve.ShutdownResult
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	err := s.ctlDo(ctx, http.MethodPost, "/shutdown", url.Values{"timeout": {timeout.String()}}, &res)
	return res, err
}

// saveHeapProfile writes the server's heap profile, after a GC, to file.
func (s *server) saveHeapProfile(file string) error {
	resp, err := s.hc.Get("http://" + s.ctl + "/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: %s", resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}
