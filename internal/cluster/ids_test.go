package cluster

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scalesocket/scalesocket-go/internal/cluster/natstest"
)

// testTimeout bounds every NATS round trip in these tests so a bug shows up
// as a failure, not as a hung test binary.
const testTimeout = 10 * time.Second

// connect opens a connection that the test closes when it ends.
func connect(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// bucket opens (creating it if needed) the test bucket over nc.
func bucket(t *testing.T, nc *nats.Conn) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "ids_test"})
	if err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	return kv
}

func TestIDsAreUniqueAcrossNodes(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	const block, perNode, goroutines = 8, 3*8 + 7, 4
	nodes := []*IDs{
		NewIDs(bucket(t, connect(t, srv.URL())), block),
		NewIDs(bucket(t, connect(t, srv.URL())), block),
	}

	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	ids := make(chan uint32, len(nodes)*perNode)
	errs := make(chan error, len(nodes)*perNode)
	var wg sync.WaitGroup
	for _, node := range nodes {
		for g := range goroutines {
			// Spread perNode calls over the goroutines of this node.
			n := perNode / goroutines
			if g == 0 {
				n += perNode % goroutines
			}
			wg.Go(func() {
				for range n {
					id, err := node.Next(ctx)
					if err != nil {
						errs <- err
						return
					}
					ids <- id
				}
			})
		}
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatalf("Next: %v", err)
	}

	seen := make(map[uint32]bool)
	for id := range ids {
		if id == 0 {
			t.Fatal("Next returned 0")
		}
		if seen[id] {
			t.Fatalf("ID %d handed out twice", id)
		}
		seen[id] = true
	}
	if len(seen) != len(nodes)*perNode {
		t.Fatalf("got %d IDs, want %d", len(seen), len(nodes)*perNode)
	}
	// Each node leased ceil(31/8) = 4 blocks of 8 from 1, so the counter
	// must be exactly past 8 blocks: nothing leased twice, nothing skipped.
	entry, err := nodes[0].kv.Get(ctx, idsKey)
	if err != nil {
		t.Fatalf("get counter: %v", err)
	}
	if got, want := string(entry.Value()), strconv.Itoa(2*4*block+1); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}

func TestIDsWrapToOneSkippingZero(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	kv := bucket(t, connect(t, srv.URL()))
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	if _, err := kv.Put(ctx, idsKey, []byte(strconv.FormatUint(math.MaxUint32-4, 10))); err != nil {
		t.Fatalf("seed counter: %v", err)
	}

	ids := NewIDs(kv, 4)
	want := []uint32{
		math.MaxUint32 - 4, math.MaxUint32 - 3, math.MaxUint32 - 2, math.MaxUint32 - 1,
		math.MaxUint32, // A short block: it stops at the top instead of overflowing.
		1, 2, 3, 4, 5,
	}
	for i, w := range want {
		got, err := ids.Next(ctx)
		if err != nil {
			t.Fatalf("Next #%d: %v", i, err)
		}
		if got != w {
			t.Fatalf("Next #%d = %d, want %d", i, got, w)
		}
	}
}

func TestIDsFailWhenLeaseCannotComplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		reconnect bool
		// fail breaks the lease and returns the context to call Next with.
		fail func(t *testing.T, srv *natstest.Server, nc *nats.Conn) context.Context
		want error
	}{
		{"context cancelled", false, func(t *testing.T, _ *natstest.Server, _ *nats.Conn) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled},
		{"connection closed", false, func(t *testing.T, _ *natstest.Server, nc *nats.Conn) context.Context {
			nc.Close()
			return t.Context()
		}, nats.ErrConnectionClosed},
		{"server gone", false, func(t *testing.T, srv *natstest.Server, _ *nats.Conn) context.Context {
			srv.Shutdown()
			return t.Context()
		}, nats.ErrConnectionClosed},
		// With reconnects on, as in production, requests wait for a server
		// that never returns, so only the caller's deadline ends them.
		{"server gone while reconnecting", true, func(t *testing.T, srv *natstest.Server, _ *nats.Conn) context.Context {
			srv.Shutdown()
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := natstest.Start(t)
			var nc *nats.Conn
			if tt.reconnect {
				nc = connect(t, srv.URL(), nats.MaxReconnects(-1))
			} else {
				nc = connect(t, srv.URL(), nats.NoReconnect())
			}
			ids := NewIDs(bucket(t, nc), 4)
			ctx := tt.fail(t, srv, nc)

			done := make(chan error, 1)
			go func() {
				_, err := ids.Next(ctx)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tt.want) {
					t.Fatalf("Next error = %v, want %v", err, tt.want)
				}
			case <-time.After(testTimeout):
				t.Fatal("Next did not return")
			}
		})
	}
}

// TestUpdateConflictIsRevisionMismatch pins the jetstream behaviour the
// lease loop relies on, so an upgrade that changes it fails here first.
func TestUpdateConflictIsRevisionMismatch(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	kv := bucket(t, connect(t, srv.URL()))
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()

	if _, err := kv.Get(ctx, "k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("Get absent key: %v, want ErrKeyNotFound", err)
	}
	rev, err := kv.Create(ctx, "k", []byte("1"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := kv.Create(ctx, "k", []byte("2")); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("Create existing key: %v, want ErrKeyExists", err)
	}
	if _, err := kv.Update(ctx, "k", []byte("2"), rev); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if _, err := kv.Update(ctx, "k", []byte("3"), rev); !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		t.Fatalf("Update stale revision: %v, want ErrKeyRevisionMismatch", err)
	}
}
