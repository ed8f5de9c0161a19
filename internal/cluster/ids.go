package cluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultIDBlock is how many connection IDs a node leases at a time. One KV
// round trip per 1024 connections keeps NATS off the accept path, while a
// node that stops wastes at most 1024 of the 2^32-1 IDs.
const DefaultIDBlock = 1024

// idsKey holds the next free ID, as decimal text, in the bucket given to
// NewIDs.
const idsKey = "ids"

// maxLeaseAttempts bounds the compare-and-set loop. Every lost race means
// another node won its lease, so the loop always makes progress; the bound
// only stops a pathological storm from spinning forever.
const maxLeaseAttempts = 100

// IDs hands out connection IDs that are unique across the cluster and fit in
// a uint32 (clients and process protocols see them as 32-bit numbers).
// Zero is never returned, so it can mean "no connection".
//
// Nodes lease blocks of consecutive IDs from a counter in a JetStream KV
// bucket with compare-and-set, then hand them out locally. After 2^32-1 the
// counter wraps to 1, so IDs are unique only as long as no connection is
// still open after 2^32-1 further IDs have been leased cluster-wide
// (including IDs left unused in the blocks of stopped nodes).
type IDs struct {
	kv    jetstream.KeyValue
	block uint32

	mu   sync.Mutex
	next uint64 // Next ID of the current block; uint64 so end can be 2^32.
	end  uint64 // One past the last ID of the current block.
}

// NewIDs returns an allocator leasing blocks of block IDs (DefaultIDBlock if
// block is 0) from kv.
func NewIDs(kv jetstream.KeyValue, block uint32) *IDs {
	if block == 0 {
		block = DefaultIDBlock
	}
	return &IDs{kv: kv, block: block}
}

// Next returns a fresh connection ID. Most calls take one from the current
// block without I/O; every block-th call leases a new block, bounded by ctx
// (or by the JetStream default timeout when ctx has no deadline). On error no
// ID is consumed and a later call tries again.
func (a *IDs) Next(ctx context.Context) (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == a.end {
		first, end, err := a.lease(ctx)
		if err != nil {
			return 0, fmt.Errorf("lease connection IDs: %w", err)
		}
		a.next, a.end = first, end
	}
	id := a.next
	a.next++
	return uint32(id), nil
}

// lease claims [first, end) from the shared counter.
func (a *IDs) lease(ctx context.Context) (first, end uint64, err error) {
	for range maxLeaseAttempts {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		entry, err := a.kv.Get(ctx, idsKey)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			first = 1
			end, stored := a.span(first)
			_, err = a.kv.Create(ctx, idsKey, stored)
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue // Another node created it first.
			}
			if err != nil {
				return 0, 0, err
			}
			return first, end, nil
		}
		if err != nil {
			return 0, 0, err
		}
		first, err = strconv.ParseUint(string(entry.Value()), 10, 32)
		if err != nil || first == 0 {
			return 0, 0, fmt.Errorf("key %q holds %q, not an ID", idsKey, entry.Value())
		}
		end, stored := a.span(first)
		_, err = a.kv.Update(ctx, idsKey, stored, entry.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // Another node leased since our Get.
		}
		if err != nil {
			return 0, 0, err
		}
		return first, end, nil
	}
	return 0, 0, fmt.Errorf("gave up after %d conflicting attempts", maxLeaseAttempts)
}

// span returns the end of the block starting at first and the counter value
// to store.
// A block never crosses 2^32-1: it is cut short there and the counter wraps
// to 1, so 0 is never handed out.
func (a *IDs) span(first uint64) (end uint64, stored []byte) {
	end = min(first+uint64(a.block), math.MaxUint32+1)
	next := end
	if next > math.MaxUint32 {
		next = 1
	}
	return end, strconv.AppendUint(nil, next, 10)
}
