package chaos

import (
	"sync"
	"time"
)

// holder holds a receiver's answers on the mayhem's orders (a delivery
// taken, its worker left waiting), and counts the answers held right now.
type holder struct {
	mu      sync.Mutex
	hold    time.Duration
	holding int
}

// set holds every answer from now on for d (0: answer at once).
func (h *holder) set(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold = d
}

// held reports how many answers are being held right now.
func (h *holder) held() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.holding
}

// wait holds one answer as long as set says.
func (h *holder) wait() {
	h.mu.Lock()
	d := h.hold
	h.holding++
	h.mu.Unlock()
	time.Sleep(d)
	h.mu.Lock()
	h.holding--
	h.mu.Unlock()
}
