// Package testutil holds the test helpers of this repository that are not
// in the public test kit, sseview/sseviewtest. Tests read event streams with
// the kit, as users do; what is here has a reason not to be:
//
//   - [Serve] starts an httptest.Server whose cleanup first cuts every
//     client connection. Tests of refusals, of net/http's own checks and of
//     clients on raw TCP talk plain HTTP to a real server, which the kit does
//     not do (it reads streams, and fails anything but a 200 event stream);
//     without the cut, a connection such a test leaves open would hang
//     httptest.Server.Close.
//
// Tests that check bytes exactly, such as the encoder's fuzz round trip, the
// Shutdown tests' bodies read off raw TCP and the Datastar comparisons,
// parse them with internal/eventstream, the independent oracle of the
// WHATWG algorithm, and not through this package.
//
// The fuzz round trip, an internal test of package sseview, imports this
// package, so it must never import package sseview.
package testutil
