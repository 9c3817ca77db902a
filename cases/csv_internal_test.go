package cases

import (
	"testing"
)

// A text cell that a spreadsheet would read as a formula gets a leading '
// (OWASP's advice for CSV injection); a number we wrote stays a number,
// negative ones included.
func TestCSVCellsThatWouldBeFormulasAreNeutralised(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=SUM(1+1)*cmd|' /C calc'!A0", "'=SUM(1+1)*cmd|' /C calc'!A0"},
		{"+1+cmd|x", "'+1+cmd|x"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-", "'-"},
		{"-19900", "-19900"},
		{"-0.0500", "-0.0500"},
		{"19900", "19900"},
		{"0.6000", "0.6000"},
		{"-1e5", "'-1e5"},
		{"- 5", "'- 5"},
		{"Course spiking", "Course spiking"},
		{"a=b", "a=b"},
		{"", ""},
	} {
		if got := csvCell(c.in); got != c.want {
			t.Errorf("csvCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
