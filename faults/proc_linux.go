package main

import "syscall"

// sysProcAttr puts a child in a process group of its own, so a Ctrl-C at
// the terminal reaches only the harness, which ends its children itself;
// and has the kernel kill the child if the harness dies first, so no
// nats-server or weather instance outlives a harness killed with -9.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
