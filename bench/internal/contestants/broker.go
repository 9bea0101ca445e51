package contestants

import "github.com/sseview/sseview/sseview"

// newBroker makes the broker of the sseview-broker contestant; nil while
// the library has none.
var newBroker func() sseview.Broker
