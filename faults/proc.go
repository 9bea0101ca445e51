package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a child process of the harness: its stderr, and its stdout
// after the first line, go to a log file.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
	err  error         // why it exited; set before done is closed
}

// children is every process started and not yet waited for, so that
// killAll can end them whatever way the harness stops.
var children struct {
	sync.Mutex
	set map[*process]bool
}

// startProcess starts bin with args, its output appended to logPath. When
// firstLine is not nil, the first line the process prints on stdout is sent
// to it (and also logged).
func startProcess(name, logPath string, firstLine chan<- string, bin string, args ...string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("faults: %w", err)
	}
	fmt.Fprintf(log, "=== %s: %s %q\n", time.Now().Format(time.RFC3339Nano), bin, args)
	cmd := exec.Command(bin, args...)
	cmd.Stderr = log
	cmd.SysProcAttr = sysProcAttr()
	var stdout io.ReadCloser
	if firstLine != nil {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			log.Close()
			return nil, fmt.Errorf("faults: %w", err)
		}
	} else {
		cmd.Stdout = log
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("faults: start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	children.Lock()
	if children.set == nil {
		children.set = make(map[*process]bool)
	}
	children.set[p] = true
	children.Unlock()

	var copied sync.WaitGroup
	if stdout != nil {
		copied.Go(func() {
			r := bufio.NewReader(stdout)
			line, err := r.ReadString('\n')
			log.WriteString(line)
			if err == nil {
				firstLine <- line[:len(line)-1]
			}
			io.Copy(log, r)
		})
	}
	go func() {
		copied.Wait() // Wait closes the pipe: read it to the end first
		p.err = cmd.Wait()
		log.Close()
		children.Lock()
		delete(children.set, p)
		children.Unlock()
		close(p.done)
	}()
	return p, nil
}

// signal sends sig to the process.
func (p *process) signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("faults: signal %v to %s: %w", sig, p.name, err)
	}
	return nil
}

// wait waits until the process has exited, at most until ctx is done.
func (p *process) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("faults: %s did not exit: %w", p.name, context.Cause(ctx))
	}
}

// kill sends SIGKILL and waits for the exit (bounded: a killed process
// cannot refuse).
func (p *process) kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.wait(ctx)
}

// killAll kills every child still running and waits for them.
func killAll() {
	children.Lock()
	var ps []*process
	for p := range children.set {
		ps = append(ps, p)
	}
	children.Unlock()
	for _, p := range ps {
		p.kill()
	}
}
