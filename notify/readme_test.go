package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refundflow/refundflow/notify"
)

// verify reports whether header (Refundflow-Signature) signs body with secret, signed within 5 minutes of now.
func verify(secret, header string, body []byte, now time.Time) bool {
	var t string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		return false // a captured delivery replayed later
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	ok := false
	for _, sig := range sigs {
		ok = hmac.Equal([]byte(sig), []byte(want)) || ok
	}
	return ok
}

// readmeBlock is the first code block of a language in the README's
// "Receiving webhooks" section.
func readmeBlock(t *testing.T, lang string) string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Receiving webhooks\n")
	if !ok {
		t.Fatal(`the README has no "Receiving webhooks" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "\n```"+lang+"\n")
	if !ok {
		t.Fatalf("the README's Receiving webhooks has no %s block", lang)
	}
	block, _, _ = strings.Cut(block, "\n```\n")
	return block
}

type signed struct {
	name   string
	header string
	body   string
	valid  bool
}

// deliveries are signed as WebhookSender signs them: fresh, with two
// secrets during a rotation, tampered with, under another secret, old.
func deliveries(secret string, now time.Time) []signed {
	body := `{"id":"evt_1","type":"refund.succeeded","created_at":"2026-03-05T10:00:00Z","data":{"refund_id":"rf_1","revoke_access":true}}`
	rotating := notify.Sign("whsec_new", now, []byte(body)) + "," + strings.Split(notify.Sign(secret, now, []byte(body)), ",")[1]
	return []signed{
		{"fresh", notify.Sign(secret, now, []byte(body)), body, true},
		{"during a rotation", rotating, body, true},
		{"another key after a future scheme", notify.Sign(secret, now, []byte(body)) + ",v2=abc", body, true},
		{"tampered body", notify.Sign(secret, now, []byte(body)), strings.Replace(body, "true", "false", 1), false},
		{"another secret", notify.Sign("whsec_other", now, []byte(body)), body, false},
		{"ten minutes old", notify.Sign(secret, now.Add(-10*time.Minute), []byte(body)), body, false},
		{"no signature", "t=" + strconv.FormatInt(now.Unix(), 10), body, false},
	}
}

// The README's Go verifier is this file's verify, word for word, and it
// takes what refundflow signs and nothing else.
func TestREADMEsGoVerifierAcceptsRefundflowsSignaturesOnly(t *testing.T) {
	src, err := os.ReadFile("readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	if block := readmeBlock(t, "go"); !strings.Contains(string(src), block) {
		t.Fatalf("the README's Go verifier is not the one tested here:\n%s", block)
	}
	const secret = "whsec_shared"
	now := time.Now()
	for _, d := range deliveries(secret, now) {
		if got := verify(secret, d.header, []byte(d.body), now); got != d.valid {
			t.Errorf("%s: verify says %v", d.name, got)
		}
	}
}

// The README's openssl verifier, run as it stands in bash, takes what
// refundflow signs and nothing else.
func TestREADMEsOpenSSLVerifierAcceptsRefundflowsSignaturesOnly(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("the README's shell verifier needs openssl: apt-get install openssl")
	}
	script := readmeBlock(t, "sh")
	const secret = "whsec_shared"
	now := time.Now()
	for _, d := range deliveries(secret, now) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "body.json"), []byte(d.body), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", "-c", script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SIG="+d.header, "PLATFORM_WEBHOOK_SECRET="+secret)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", d.name, err, out)
		}
		if got := strings.TrimSpace(string(out)) == "verified"; got != d.valid {
			t.Errorf("%s: the script says %q", d.name, out)
		}
	}
}
