// Command ssebench runs the sseview benchmark harness.
//
//	ssebench run [-smoke] [-rounds N] [-only NAME] [-json FILE] [-md FILE]
//	ssebench server -contestant NAME [-sndbuf BYTES] [-router chi|chi-middleware]
//
// "run" is the driver and load client; it starts "server" processes of
// itself, one per contestant and scenario.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sseview/sseview/bench/internal/drive"
	"github.com/sseview/sseview/bench/internal/serve"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ssebench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: ssebench run|server [flags]")
	}
	switch args[0] {
	case "run":
		return drive.Main(args[1:])
	case "server":
		fs := flag.NewFlagSet("server", flag.ContinueOnError)
		name := fs.String("contestant", "", "the contestant to serve")
		sndbuf := fs.Int("sndbuf", 0, "fixed send buffer of the streams' sockets, in bytes (0: the kernel's autotuning)")
		router := fs.String("router", "", "serve the contestant's routes behind \""+serve.RouterChi+"\" or \""+serve.RouterChiMiddleware+"\" (default: its own handler)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return serve.Main(*name, *sndbuf, *router)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
