package main

import (
	"testing"

	"github.com/refundflow/refundflow/internal/bench"
)

// -quick in any spelling the flag package takes starts the sizes from the
// smoke run's; a size given on the command line still wins.
func TestQuickStartsFromTheSmokeSizesInAnySpelling(t *testing.T) {
	quick, full := bench.QuickConfig(), bench.DefaultConfig()
	for _, args := range [][]string{{"-quick"}, {"--quick"}, {"-quick=1"}, {"-quick=t"}, {"-refunds=3", "-quick=true"}} {
		o := parse(args)
		if o.cfg.WaitingCases != quick.WaitingCases || o.cfg.Floor != quick.Floor || o.warmup != quick.Floor.Warmup {
			t.Errorf("%v: waiting %d, floor %+v, want the quick sizes", args, o.cfg.WaitingCases, o.cfg.Floor)
		}
	}
	if o := parse([]string{"-refunds=3", "-quick", "-warmup=0"}); o.cfg.Pipeline.Count != 3 || o.cfg.Pipeline.Warmup != 0 || o.cfg.RefundflowBin != "bin/refundflow" {
		t.Errorf("given sizes lost under -quick: %+v, binary %q", o.cfg.Pipeline, o.cfg.RefundflowBin)
	}
	if o := parse(nil); o.cfg.WaitingCases != full.WaitingCases || o.cfg.Pipeline != full.Pipeline {
		t.Errorf("without -quick: waiting %d, pipeline %+v, want the full sizes", o.cfg.WaitingCases, o.cfg.Pipeline)
	}
}
