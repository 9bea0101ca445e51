//go:build !linux

package main

import "syscall"

// sysProcAttr puts a child in a process group of its own, so a Ctrl-C at
// the terminal reaches only the harness, which ends its children itself.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
