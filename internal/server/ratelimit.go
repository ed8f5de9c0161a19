package server

import "time"

// bucket is a token bucket of n tokens refilled at n per second (SPEC §14):
// a client may send a burst of n messages, then n per second. A client over
// its rate is not dropped: its reader waits, so TCP slows the client down.
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newBucket(n int) *bucket {
	return &bucket{rate: float64(n), tokens: float64(n), last: time.Now()}
}

// take takes one token, waiting for it if need be; it returns false if
// done is closed first.
func (b *bucket) take(done <-chan struct{}) bool {
	now := time.Now()
	b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		wait := time.NewTimer(time.Duration((1 - b.tokens) / b.rate * float64(time.Second)))
		defer wait.Stop()
		select {
		case <-wait.C:
		case <-done:
			return false
		}
		b.tokens, b.last = 1, time.Now()
	}
	b.tokens--
	return true
}
