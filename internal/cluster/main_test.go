package cluster

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind, including
// those of the embedded NATS server and of nats.go connections.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
