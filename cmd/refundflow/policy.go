package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/refundflow/refundflow"
	"github.com/refundflow/refundflow/calendar"
	"github.com/refundflow/refundflow/policy"
)

// maxFactsLine bounds one JSON Lines record; real facts are well under 4 KiB.
const maxFactsLine = 1 << 20

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Refund policies"}
	var ref, policyFile, factsFile string
	var calendarFiles []string
	eval := &cobra.Command{
		Use:   "eval [--policy NAME@VERSION | --policy-file FILE] [--facts FILE] [--calendar-file FILE ...]",
		Short: "Decide refund requests offline: facts as JSON Lines in, one decision per line out",
		Long: `Reads refund facts as JSON Lines (stdin unless --facts is given; blank lines
are skipped) and writes one decision per line, as SPEC 6 describes. No server
is needed. The built-in policy is default@1; --policy-file evaluates a policy
JSON file instead, and --calendar-file loads calendar data (e.g. a further
year of holidays) over the built-in calendars.

Bad input stops at the first bad line with its line number and field on
stderr and exit status 2; the decisions of the lines before it are written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cals, err := loadCalendars(calendarFiles)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			p, err := loadPolicy(ref, policyFile, cals)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			in := cmd.InOrStdin()
			if factsFile != "" && factsFile != "-" {
				f, err := os.Open(factsFile)
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				defer f.Close()
				in = f
			}
			return evalFacts(in, cmd.OutOrStdout(), p, cals)
		},
	}
	eval.Flags().StringVar(&ref, "policy", "", "policy NAME@VERSION (built in: default@1)")
	eval.Flags().StringVar(&policyFile, "policy-file", "", "evaluate the policy in this JSON file")
	eval.Flags().StringVar(&factsFile, "facts", "", "read facts from this file instead of stdin (- for stdin)")
	eval.Flags().StringArrayVar(&calendarFiles, "calendar-file", nil, "merge a calendar JSON file over the built-in calendars; repeatable")
	eval.SetFlagErrorFunc(usageError)
	cmd.AddCommand(eval)
	return cmd
}

// usageError makes bad flags exit with status 2, like bad input.
func usageError(_ *cobra.Command, err error) error {
	return &exitError{code: 2, err: err}
}

// loadPolicy picks the policy to evaluate: a file, or the built-in default.
func loadPolicy(ref, file string, cals *calendar.Registry) (*policy.Policy, error) {
	var p *policy.Policy
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if p, err = policy.Parse(data); err != nil {
			return nil, fmt.Errorf("%s: %s", file, problemLines(err, ""))
		}
		if ref != "" && ref != p.ID() {
			return nil, fmt.Errorf("--policy %s, but %s holds %s", ref, file, p.ID())
		}
	} else {
		p = policy.Default()
		if ref != "" && ref != p.ID() {
			if _, _, err := policy.ParseRef(ref); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("policy %s is not built in (only %s is); give its JSON with --policy-file", ref, p.ID())
		}
	}
	if err := p.CheckCalendar(cals); err != nil {
		return nil, fmt.Errorf("policy %s: %w", p.ID(), err)
	}
	return p, nil
}

// loadCalendars returns the built-in calendars with each file merged over them.
func loadCalendars(files []string) (*calendar.Registry, error) {
	cals := calendar.NewRegistry()
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		c, err := calendar.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", file, problemLines(err, ""))
		}
		cals.Merge(c)
	}
	return cals, nil
}

// evalFacts decides each JSON Lines record of r and writes the decisions to w,
// one per line. A bad record stops the run with an exit-status-2 error naming
// its line and field; the decisions before it have been written.
func evalFacts(r io.Reader, w io.Writer, p *policy.Policy, cals *calendar.Registry) error {
	out := bufio.NewWriter(w)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxFactsLine)
	// fail writes out the decisions made so far before reporting err.
	fail := func(err error) error {
		if flushErr := out.Flush(); flushErr != nil {
			return flushErr
		}
		return err
	}
	line := 0
	for sc.Scan() {
		line++
		data := bytes.TrimSpace(sc.Bytes())
		if len(data) == 0 {
			continue
		}
		facts, err := policy.DecodeFacts(data)
		if err != nil {
			return fail(&exitError{code: 2, err: errors.New(problemLines(err, fmt.Sprintf("line %d: ", line)))})
		}
		d, err := policy.Evaluate(p, facts, cals)
		if err != nil {
			return fail(fmt.Errorf("line %d: %w", line, err))
		}
		if err := enc.Encode(d); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fail(&exitError{code: 2, err: fmt.Errorf("line %d: longer than %d bytes", line+1, maxFactsLine)})
		}
		return fail(err)
	}
	return out.Flush()
}

// problemLines writes each problem of a validation error on its own line,
// "prefix field: message", so every fix can be made at once.
func problemLines(err error, prefix string) string {
	var e *refundflow.Error
	if !errors.As(err, &e) {
		return prefix + err.Error()
	}
	probs := e.Details
	if len(probs) == 0 {
		probs = []*refundflow.Error{e}
	}
	lines := make([]string, len(probs))
	for i, p := range probs {
		lines[i] = prefix + p.Error()
	}
	return strings.Join(lines, "\n")
}
