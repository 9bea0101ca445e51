// Command weather is the seed's weather stream as a runnable program: a web
// page at / that watches the live weather at a point through an
// EventSource. A simulated weather service keeps writing readings to an
// embedded SQLite database; the streams get them from a broker the service
// publishes them to, or, with -broker poll, from a port of
// django-async-sse's WeatherStream view polling the database.
//
//	go build -o weather . && ./weather -update 3s   # what `make run` starts
//
// Flags (see -h): -addr, -backlog, -broker, -db, -poll, -publish-timeout,
// -update.
//
// -broker chooses how readings reach the streams: "memory" (the default)
// publishes each stored reading to an in-process sseview.MemoryBroker that
// the streams subscribe to; "nats://host:port" does the same on NATS
// JetStream and "redis://host:port" on Redis Streams, so that several
// processes share their readings; "poll" is the
// seed's way, each stream polling the database every -poll (the only mode
// -poll applies to).
//
// In the broker modes each point's readings are published on their own,
// each publish bounded by -publish-timeout. A reading that could not be
// published (NATS or Redis down or paused) is retried, under the same key, until it
// is; at most -backlog readings per point wait, and past that the oldest is
// dropped and logged at Error. So an outage shorter than -backlog × -update
// loses no reading.
//
// The listen address is the first of: the -addr flag; the ADDR environment
// variable (host:port); the PORT environment variable, meaning ":PORT" on
// all interfaces as the platforms that set PORT expect; 127.0.0.1:8000.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	defaultAddr   = "127.0.0.1:8000"
	defaultPoll   = 30 * time.Second // the seed's asyncio.sleep(30)
	defaultUpdate = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// config is what the flags and environment choose.
type config struct {
	Addr   string        // listen address
	Broker string        // "poll", "memory", a nats:// or a redis:// URL; "" means "memory"
	DB     string        // database path; "" is a new file in a temporary directory
	Poll   time.Duration // how often a stream polls its point (Broker "poll")
	Update time.Duration // how often the updater stores new readings

	PublishTimeout time.Duration // bounds each publish (broker modes)
	Backlog        int           // readings per point waiting to be published (broker modes)

	Logger *slog.Logger // nil means slog.Default()
}

// parseConfig reads the flags in args and the environment through getenv.
// Usage and flag errors go to stderr.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("weather", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.Addr, "addr", "", "listen `address` (default $ADDR, else :$PORT, else "+defaultAddr+")")
	fs.StringVar(&cfg.Broker, "broker", brokerMemory, "how readings reach the streams: `mode` \"memory\" (in-process broker), \"nats://host:port\" (NATS JetStream, shared by processes), \"redis://host:port\" (Redis Streams, likewise) or \"poll\" (each stream polls the database, as the seed did)")
	fs.StringVar(&cfg.DB, "db", "", "SQLite database `file`, \":memory:\" or a file: URI (default: a new file in a temporary directory, removed on exit)")
	fs.DurationVar(&cfg.Poll, "poll", defaultPoll, "how often each stream polls the database for its point")
	fs.DurationVar(&cfg.Update, "update", defaultUpdate, "how often the simulated weather service stores new readings")
	fs.DurationVar(&cfg.PublishTimeout, "publish-timeout", defaultPublishTimeout, "how long one publish of a reading may take before it is retried")
	fs.IntVar(&cfg.Backlog, "backlog", defaultBacklog, "readings per point kept for retry while the broker is unreachable; past it the oldest is dropped and logged")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return config{}, fmt.Errorf("weather: unexpected arguments %q", fs.Args())
	}
	if cfg.Poll <= 0 {
		return config{}, fmt.Errorf("weather: -poll %v must be positive", cfg.Poll)
	}
	if cfg.Update <= 0 {
		return config{}, fmt.Errorf("weather: -update %v must be positive", cfg.Update)
	}
	if cfg.PublishTimeout <= 0 {
		return config{}, fmt.Errorf("weather: -publish-timeout %v must be positive", cfg.PublishTimeout)
	}
	if cfg.Backlog <= 0 {
		return config{}, fmt.Errorf("weather: -backlog %d must be positive", cfg.Backlog)
	}
	if err := checkBroker(cfg.Broker); err != nil {
		return config{}, err
	}
	addr, err := listenAddr(cfg.Addr, getenv)
	if err != nil {
		return config{}, err
	}
	cfg.Addr = addr
	return cfg, nil
}

// The -broker modes other than a NATS or Redis URL.
const (
	brokerPoll   = "poll"
	brokerMemory = "memory"
)

// checkBroker accepts the -broker values.
func checkBroker(mode string) error {
	switch {
	case mode == "", mode == brokerPoll, mode == brokerMemory,
		isNATS(mode), isRedis(mode):
		return nil
	}
	return fmt.Errorf("weather: -broker %s is not \"poll\", \"memory\", a nats:// or a redis:// URL", quote(mode))
}

// isNATS and isRedis tell the broker URLs apart by their schemes.
func isNATS(mode string) bool {
	return strings.HasPrefix(mode, "nats://") || strings.HasPrefix(mode, "tls://")
}

func isRedis(mode string) bool {
	return strings.HasPrefix(mode, "redis://") || strings.HasPrefix(mode, "rediss://")
}

// quote quotes at most the first 64 bytes of a user's value for an error.
func quote(s string) string {
	const most = 64
	if len(s) > most {
		return strconv.Quote(s[:most]) + "..."
	}
	return strconv.Quote(s)
}

// listenAddr applies the precedence -addr, ADDR, PORT, default.
func listenAddr(flagAddr string, getenv func(string) string) (string, error) {
	if flagAddr != "" {
		return flagAddr, nil
	}
	if addr := getenv("ADDR"); addr != "" {
		return addr, nil
	}
	if port := getenv("PORT"); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return "", fmt.Errorf("weather: PORT=%q is not a port number", port)
		}
		return ":" + port, nil
	}
	return defaultAddr, nil
}

// run is the program: it serves until ctx is done, then shuts down
// gracefully. It prints the page's URL on stdout once it listens.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("weather: %w", err)
	}
	how := "broker " + a.brokerName()
	if a.broker == nil {
		how = fmt.Sprintf("poll %v", cfg.Poll)
	}
	fmt.Fprintf(stdout, "weather: serving %s (database %s, %s, update %v); Ctrl-C to stop\n",
		pageURL(ln.Addr()), a.dbPath, how, cfg.Update)
	if err := a.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "weather: stopped")
	return nil
}

// pageURL is the URL of the page on addr; a wildcard host is shown as
// loopback, which always reaches it.
func pageURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
