// Package brokercheck holds the tests, test helpers and benchmarks both
// broker modules, natsbroker and redisbroker, run against their own
// broker: what is the same of the two past the shared sseview/brokertest
// suite. The checks (Observer, FanOutAcrossInstances,
// ResumeOnAnotherInstance, HistoryEvictionSendsReset,
// ResumeWhilePublishing, CatchUpTurnsAreBounded,
// SubscribeWithoutIDStartsWithTheNextEvent) and the benchmarks
// (FanOut, CatchUp) take the module's broker, or a constructor of it with
// the settings the check needs; the helpers (Subscribe, Publish, WaitLive,
// Instance, Expect, ObserverRecorder) are for the modules' own tests, and
// ObserverRecorder for the MemoryBroker's too.
package brokercheck
