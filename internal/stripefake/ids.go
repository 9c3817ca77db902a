package stripefake

import (
	"math/rand/v2"
	"sync"
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idSource makes Stripe-looking ids (prefix + 24 base-62 characters). Object
// ids and per-request ids come from separate streams so that, with a fixed
// seed, the ids of refunds and charges do not shift when a test makes one more
// GET or when stripe-go retries.
type idSource struct {
	mu       sync.Mutex
	objects  *rand.Rand
	requests *rand.Rand
}

func newIDSource(seed uint64) *idSource {
	return &idSource{
		objects:  rand.New(rand.NewPCG(seed, 1)),
		requests: rand.New(rand.NewPCG(seed, 2)),
	}
}

// object returns a new id for a stored object ("re_", "ch_", "txn_", ...).
func (g *idSource) object(prefix string) string {
	return g.next(g.objects, prefix)
}

// request returns a new id for a request or an event ("req_", "evt_").
func (g *idSource) request(prefix string) string {
	return g.next(g.requests, prefix)
}

func (g *idSource) next(r *rand.Rand, prefix string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := make([]byte, len(prefix), len(prefix)+24)
	copy(b, prefix)
	for range 24 {
		b = append(b, idAlphabet[r.IntN(len(idAlphabet))])
	}
	return string(b)
}
