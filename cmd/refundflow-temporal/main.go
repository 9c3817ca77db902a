// Command refundflow-temporal runs only the embedded Temporal server of the
// dev stack (devstack.StartTemporal) as a process of its own: the namespace
// and refundflow's search attributes registered, SQLite in WAL mode, no UI
// unless asked. The chaos run (make chaos) needs Temporal apart from the
// processes it kills; anyone may point TEMPORAL_ADDRESS at it.
//
//	refundflow-temporal -address 127.0.0.1:7233 -db .data/temporal.db
//
// It prints "temporal ready <address>" on stdout once the server accepts
// calls, and stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/refundflow/refundflow/internal/devstack"
)

func main() {
	var o devstack.TemporalOptions
	flag.StringVar(&o.Address, "address", "127.0.0.1:7233", "frontend host:port")
	flag.StringVar(&o.DBFile, "db", "", "SQLite file (created with the schema when missing); empty: in memory, gone when the process ends")
	flag.StringVar(&o.UIAddress, "ui", "", "host:port of the Temporal UI; empty: no UI")
	flag.StringVar(&o.Namespace, "namespace", "default", "namespace to create")
	flag.IntVar(&o.SQLiteConns, "sqlite-conns", 1, "SQLite connection pool size")
	flag.Parse()
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	srv, err := devstack.StartTemporal(startCtx, o)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "refundflow-temporal:", err)
		os.Exit(1)
	}
	fmt.Println("temporal ready", srv.Address)
	<-ctx.Done()
	srv.Stop()
}
