package payments_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/payments"
)

// stripeMock starts the pinned stripe-mock on loopback (bin/stripe-mock,
// built from tools/go.mod when missing) and returns its base URL.
// stripe-mock checks every request against Stripe's OpenAPI document, so
// the client's calls — parameters, expansions, list filters — are
// validated against the real API's shape; its answers are fixtures.
func stripeMock(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "stripe-mock")
	if _, err := os.Stat(bin); err != nil {
		bin = filepath.Join(t.TempDir(), "stripe-mock")
		build := exec.Command("go", "build", "-modfile=tools/go.mod", "-o", bin, "github.com/stripe/stripe-mock")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build stripe-mock: %v\n%s", err, out)
		}
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
			}
		}
	}()
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("stripe-mock did not say where it listens")
	}
	return ""
}

func TestClientCallsAreValidAgainstStripesAPI(t *testing.T) {
	c := payments.New(payments.Config{SecretKey: "sk_test_123", APIBase: stripeMock(t)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	created, err := c.Create(ctx, payments.CreateRequest{
		PaymentIntent: "pi_123", Amount: 1999, IdempotencyKey: "refund/rf_1/attempt/1", RefundID: "rf_1", OrderID: "o_1", Attempt: 1,
		ReverseTransfer: true, RefundApplicationFee: true,
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if created.ID == "" || created.Amount != 1999 {
		t.Fatalf("create answered %+v", created)
	}
	got, err := c.Get(ctx, created.ID)
	if err != nil || got.ID == "" {
		t.Fatalf("get: %+v %v", got, err)
	}
	// stripe-mock's fixtures name no case: nothing to adopt, but the list
	// call with its filter and expansions is accepted.
	if found, err := c.FindByCase(ctx, "pi_123", "rf_1", 1); err != nil || found != nil {
		t.Fatalf("find by case: %+v %v", found, err)
	}
	to := time.Now()
	n := 0
	if err := c.List(ctx, to.Add(-24*time.Hour), to, func(payments.Refund) error { n++; return nil }); err != nil {
		t.Fatalf("list: %v", err)
	}
	if n == 0 {
		t.Fatal("list returned nothing")
	}
	page, err := c.ListPage(ctx, to.Add(-24*time.Hour), to, created.ID, 100)
	if err != nil || len(page.Refunds) == 0 {
		t.Fatalf("list page: %+v %v", page, err)
	}
}
