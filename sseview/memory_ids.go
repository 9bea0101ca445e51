package sseview

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The MemoryBroker's id scheme: "<epoch>-<sequence>", both plain.

// lastEpoch makes the epochs of MemoryBrokers in one process distinct
// even when two start within the clock's resolution.
var lastEpoch atomic.Int64

// newEpoch returns the prefix of the ids of a broker started at start:
// its time in base 36, after every epoch given before in this process.
func newEpoch(start time.Time) string {
	n := start.UnixNano()
	for {
		prev := lastEpoch.Load()
		n = max(n, prev+1)
		if lastEpoch.CompareAndSwap(prev, n) {
			break
		}
	}
	return strconv.FormatInt(n, 36) + "-"
}

func (b *MemoryBroker) formatID(seq uint64) string {
	return b.epoch + strconv.FormatUint(seq, 10)
}

// parseID returns the sequence number of an id this broker gave. It
// accepts only the exact form it writes, so that two spellings never name
// one position.
func (b *MemoryBroker) parseID(id string) (uint64, bool) {
	digits, ok := strings.CutPrefix(id, b.epoch)
	if !ok || digits == "" || (digits[0] == '0' && digits != "0") {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || seq > b.seq.Load() {
		return 0, false
	}
	return seq, true
}
