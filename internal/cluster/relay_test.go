package cluster

import (
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

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
	ns := natstest.Start(t)
	nc := connect(t, ns.URL())
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
	return b, m, publish
}

// TestRelayDropsStaleOwnerAndStopsAtGap: a message of another epoch is
// dropped; a missing sequence number ends the stream with 1011 rather
// than delivering what follows it.
func TestRelayDropsStaleOwnerAndStopsAtGap(t *testing.T) {
	b, m, publish := testRelay(t, 10*time.Second)
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
