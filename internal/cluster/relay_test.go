package cluster

import (
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/scalesocket/scalesocket-go/internal/cluster/natstest"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// countingMetrics counts what the tests look at.
type countingMetrics struct {
	nopMetrics
	gaps, stale atomic.Int32
}

func (m *countingMetrics) Gap()   { m.gaps.Add(1) }
func (m *countingMetrics) Stale() { m.stale.Add(1) }

// testRelay is a relay of epoch 5 whose owner is the test: it publishes
// to out what an owner would.
func testRelay(t *testing.T, ttl time.Duration) (b *relay, m *countingMetrics, publish func(h outHeader, body []byte)) {
	t.Helper()
	b, m, publish, _ = testRelayWithInput(t, ttl)
	return b, m, publish
}

// testRelayWithInput is testRelay that also returns a subscription to
// what the relay sends its owner.
func testRelayWithInput(t *testing.T, ttl time.Duration) (b *relay, m *countingMetrics, publish func(h outHeader, body []byte), in *nats.Subscription) {
	t.Helper()
	ns := natstest.Start(t)
	nc := connect(t, ns.URL())
	in, err := nc.SubscribeSync("test.in")
	if err != nil {
		t.Fatal(err)
	}
	m = &countingMetrics{}
	n := &Node{opts: Options{TTL: ttl, Metrics: m}, log: slog.New(slog.DiscardHandler), nc: nc, beat: ttl / 5}
	out := "test.out"
	sub, err := nc.SubscribeSync(out)
	if err != nil {
		t.Fatal(err)
	}
	b = newRelay(n, "r", "owner", attachReply{Epoch: 5, Link: 1, In: "test.in"}, sub)
	t.Cleanup(func() { b.Stop(); b.Wait() })
	publish = func(h outHeader, body []byte) {
		if err := nc.Publish(out, append(appendOutHeader(nil, h), body...)); err != nil {
			t.Fatal(err)
		}
	}
	return b, m, publish, in
}

// TestRelayDropsStaleOwnerAndStopsAtGap: a message of another epoch is
// dropped; a missing sequence number ends the stream with 1011 rather
// than delivering what follows it.
func TestRelayDropsStaleOwnerAndStopsAtGap(t *testing.T) {
	b, m, publish, in := testRelayWithInput(t, 10*time.Second)
	publish(outHeader{op: opData, epoch: 4, seq: 1}, appendItem(nil, item{data: []byte("stale")}))
	publish(outHeader{op: opData, epoch: 5, seq: 1}, appendItem(appendItem(nil, item{data: []byte("one")}), item{to: 9, data: []byte("two")}))
	publish(outHeader{op: opBeat, epoch: 5, seq: 2}, nil)
	publish(outHeader{op: opData, epoch: 5, seq: 4}, appendItem(nil, item{data: []byte("after the gap")}))

	for _, want := range []struct {
		data string
		to   uint32
	}{{"one", 0}, {"two", 9}} {
		out, err := b.Next()
		if err != nil || string(out.Data) != want.data || out.To != want.to {
			t.Fatalf("Next = %q to %d, %v; want %q to %d", out.Data, out.To, err, want.data, want.to)
		}
	}
	if _, err := b.Next(); err != io.EOF {
		t.Fatalf("Next after a gap = %v, want io.EOF", err)
	}
	if exit := b.Wait(); exit.Code != room.CloseInternalError || exit.Reason != "messages lost between nodes" {
		t.Fatalf("exit %+v, want 1011 for the gap", exit)
	}
	if m.stale.Load() != 1 || m.gaps.Load() != 1 {
		t.Fatalf("counted %d stale and %d gaps, want 1 and 1", m.stale.Load(), m.gaps.Load())
	}
	// The room stops its relay: the owner is told at once, rather than
	// counting this node's clients until the link times out.
	b.Stop()
	for {
		msg, err := in.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("no detach after the gap: %v", err)
		}
		if h, _, err := parseIn(msg.Data); err == nil && h.op == opDetach {
			return
		}
	}
}

// TestRelayJoinsParts: an item sent in parts reaches the room whole.
func TestRelayJoinsParts(t *testing.T) {
	b, _, publish := testRelay(t, 10*time.Second)
	publish(outHeader{op: opData, epoch: 5, seq: 1}, appendItem(nil, item{more: true, binary: true, data: []byte("he")}))
	publish(outHeader{op: opData, epoch: 5, seq: 2}, appendItem(appendItem(nil, item{more: true, binary: true, data: []byte("ll")}),
		item{binary: true, data: []byte("o")}))
	out, err := b.Next()
	if err != nil || string(out.Data) != "hello" || !out.Binary {
		t.Fatalf("Next = %q binary %v, %v; want binary hello", out.Data, out.Binary, err)
	}
}

// TestRelayPassesOwnersClose: the owner's close code reaches the room.
func TestRelayPassesOwnersClose(t *testing.T) {
	b, _, publish := testRelay(t, 10*time.Second)
	publish(outHeader{op: opClose, epoch: 5, seq: 1}, appendClose(nil, 1000, "process exited with status 0"))
	if _, err := b.Next(); err != io.EOF {
		t.Fatalf("Next after close = %v, want io.EOF", err)
	}
	if exit := b.Wait(); exit != (room.Exit{Success: true, Code: 1000, Reason: "process exited with status 0"}) {
		t.Fatalf("exit %+v", exit)
	}
}

// TestRelayGivesUpOnSilentOwner: an owner not heard for a TTL is lost,
// which closes the room's clients with 1012.
func TestRelayGivesUpOnSilentOwner(t *testing.T) {
	b, _, _ := testRelay(t, time.Second)
	if _, err := b.Next(); err != io.EOF {
		t.Fatalf("Next = %v, want io.EOF", err)
	}
	if exit := b.Wait(); exit.Code != room.CloseServiceRestart {
		t.Fatalf("exit %+v, want 1012", exit)
	}
}
