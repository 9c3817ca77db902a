package contract

import (
	"time"
)

// SweepInput says how far the sweeper looks.
type SweepInput struct {
	// Grace is how long a case may go without its first step before the
	// sweeper asks Temporal about it.
	Grace time.Duration
	// LookBack is how far back workflows that ended abnormally are read.
	LookBack time.Duration
	// Limit bounds the cases started in one sweep (the rest wait a minute).
	Limit int
}

// SweepResult names the cases a sweep started and closed.
type SweepResult struct {
	Started []string
	Closed  []string
}
