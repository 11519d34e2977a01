package scenario

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestFormatChoicesRunLength(t *testing.T) {
	long := append([]int{0, 0, 1}, slices.Repeat([]int{2}, 2990)...)
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0, 1, 1, 0}, "0 1 1 0"},
		{[]int{3, 3, 3}, "3*3"},
		{long, "0 0 1 2*2990"},
		{[]int{1, 0, 0, 0, 0, 12, 12}, "1 0*4 12 12"},
	} {
		if got := FormatChoices(tc.in); got != tc.want {
			t.Errorf("FormatChoices(%v) = %q, want %q", tc.in, got, tc.want)
		}
		sch := &Schedule{Kind: ScheduleReplay, Choices: tc.in}
		back, err := ParseSchedule(sch.String())
		if err != nil || !slices.Equal(back.Choices, tc.in) {
			t.Errorf("%q does not parse back: %v, %v", sch.String(), back, err)
		}
	}
}

// The schedule line is accepted exactly as the tools print it, with or
// without its leading word, and in a file.
func TestParseSchedule(t *testing.T) {
	want := &Schedule{Kind: ScheduleReplay, Choices: []int{0, 0, 1, 2, 2, 2, 2}}
	for _, in := range []string{"schedule replay 0 0 1 2*4", "replay 0 0 1 2*4", "  replay 0 0 1 2 2*3 ", "replay 0*2 1 2*2 2*2"} {
		got, err := ParseSchedule(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseSchedule(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	if got, err := ParseSchedule("pct 3 7"); err != nil || got.Kind != SchedulePCT || got.Depth != 3 || got.Seed != 7 {
		t.Errorf("pct: %+v, %v", got, err)
	}
	s, err := Parse("x.scn", []byte("scenario \"x\"\nmain { yield }\nschedule replay 0 1*3\n"))
	if err != nil || !slices.Equal(s.Schedule.Choices, []int{0, 1, 1, 1}) {
		t.Errorf("in a file: %v, %v", s, err)
	}
	for in, msg := range map[string]string{
		"":                            "expected a schedule kind",
		"replay 0 x":                  "10: expected a choice",
		"replay 1*":                   "unexpected character",
		"replay 0*2000000":            "too many choices",
		"frob 1":                      "unknown schedule",
		"replay 1\nreplay":            "one line",
		"schedule pct 3":              "expected a seed",
		"replay 0 # note":             "one line",
		"replay 99999999999999999999": "8: choice 99999999999999999999 out of range",
	} {
		if _, err := ParseSchedule(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseSchedule(%q): %v, want %q", in, err, msg)
		}
	}
	if _, err := Parse("x.scn", []byte("scenario \"x\"\nmain { yield }\nschedule replay 0 1*x\n")); err == nil || !strings.HasPrefix(err.Error(), "x.scn:3:") {
		t.Errorf("bad run in a file: %v", err)
	}
}
