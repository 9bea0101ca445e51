package redisbroker_test

import (
	"log/slog"
	"time"
)

const wait = 10 * time.Second

// quiet drops the broker's logs: the live readers' reconnection warnings
// would bury the test output.
var quiet = slog.New(slog.DiscardHandler)
