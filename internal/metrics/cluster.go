package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Cluster counts what happens between the nodes of a cluster. Its methods
// are those of cluster.Metrics.
type Cluster struct {
	toOwner, fromOwner prometheus.Counter
	renewed, notRenew  prometheus.Counter
	leasesLost         prometheus.Counter
	gaps               prometheus.Counter
	stale              prometheus.Counter
}

// Directions of relayed messages, as cluster names them.
const (
	dirToOwner   = "to_owner"
	dirFromOwner = "from_owner"
)

// Cluster registers the families of cluster mode and returns their
// counters; it is called once, by a server that joins a cluster.
func (m *Metrics) Cluster() *Cluster {
	relayed := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "cluster", Name: "relayed_messages_total",
		Help: "Messages sent between nodes: to_owner is client input relayed to the node that runs the room's process, from_owner is its output sent to relay nodes (once per relay node).",
	}, []string{"direction"})
	renewals := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "cluster", Name: "lease_renewals_total",
		Help: "Renewals of the leases of rooms this node owns, by result: ok or failed.",
	}, []string{"result"})
	lost := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "cluster", Name: "leases_lost_total",
		Help: "Rooms this node closed because it could not keep their lease.",
	})
	gaps := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "cluster", Name: "gaps_total",
		Help: "Streams between nodes found with a message missing; their clients were closed with 1011.",
	})
	stale := prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Subsystem: "cluster", Name: "stale_messages_total",
		Help: "Messages dropped because they came from a node that no longer owns the room.",
	})
	m.reg.MustRegister(relayed, renewals, lost, gaps, stale)
	return &Cluster{
		toOwner:    relayed.WithLabelValues(dirToOwner),
		fromOwner:  relayed.WithLabelValues(dirFromOwner),
		renewed:    renewals.WithLabelValues("ok"),
		notRenew:   renewals.WithLabelValues("failed"),
		leasesLost: lost,
		gaps:       gaps,
		stale:      stale,
	}
}

// Relayed counts n messages sent between nodes in a direction.
func (c *Cluster) Relayed(direction string, n int) {
	if direction == dirToOwner {
		c.toOwner.Add(float64(n))
		return
	}
	c.fromOwner.Add(float64(n))
}

// LeaseRenewal counts one renewal of a room's lease.
func (c *Cluster) LeaseRenewal(ok bool) {
	if ok {
		c.renewed.Inc()
		return
	}
	c.notRenew.Inc()
}

// LeaseLost counts a room closed for its lost lease.
func (c *Cluster) LeaseLost() { c.leasesLost.Inc() }

// Gap counts a stream found with a message missing.
func (c *Cluster) Gap() { c.gaps.Inc() }

// Stale counts a message from a stale owner.
func (c *Cluster) Stale() { c.stale.Inc() }
