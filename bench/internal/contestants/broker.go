package contestants

import "github.com/sseview/sseview/sseview"

// newBroker makes the broker of the sseview-broker contestant: the library's
// in-memory broker with its defaults.
var newBroker = func() sseview.Broker { return &sseview.MemoryBroker{} }
