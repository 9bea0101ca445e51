package sseview_test

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sseview/sseview/sseview"
)

func TestMemoryBrokerIDsAreAnEpochAndASequence(t *testing.T) {
	var b sseview.MemoryBroker
	idForm := regexp.MustCompile(`^[0-9a-z]{1,13}-[1-9][0-9]*$`)
	for i := range 20 {
		require.Regexp(t, idForm, mustPublish(t, &b, "t", strconv.Itoa(i)))
	}
}

func TestMemoryBrokerIDsOfAnotherBrokerReset(t *testing.T) {
	before := &sseview.MemoryBroker{}
	old := mustPublish(t, before, "t", "before the restart")
	after := &sseview.MemoryBroker{}
	newest := mustPublish(t, after, "t", "after the restart")

	cases := []struct{ name, id string }{
		{"an id of the broker before a restart", old},
		{"a known sequence number with a leading zero", newest[:len(newest)-1] + "01"},
		{"a position with an empty sequence number", newest[:len(newest)-1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			next := pullSubscription(t, after, "t", c.id)
			first, err, _ := next()
			require.NoError(t, err)
			assert.Equal(t, sseview.Text{Type: sseview.ResetEventType, ID: newest}, first)
		})
	}
	assert.NotEqual(t, old[:len(old)-1], newest[:len(newest)-1], "two brokers share an epoch")
}
