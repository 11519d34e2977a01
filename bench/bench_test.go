package bench

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMedians(t *testing.T) {
	r := &StrategyResult{Samples: []Sample{
		{Schedules: 9, WallMS: 9}, {Schedules: 100, WallMS: 50, Capped: true}, {Schedules: 1, WallMS: 1},
		{Schedules: 5, WallMS: 5}, {Schedules: 100, WallMS: 40, Capped: true},
	}}
	r.summarize()
	if r.MedianSchedules != 9 || r.MedianWallMS != 9 || r.Capped || r.Found != 3 {
		t.Errorf("%+v", r)
	}
	r.Samples = append(r.Samples, Sample{Schedules: 100, WallMS: 30, Capped: true})
	r.summarize()
	if !r.Capped {
		t.Errorf("upper median of 3 found and 3 capped should be capped: %+v", r)
	}
	exact := &StrategyResult{MedianWallMS: 2}
	capped := &StrategyResult{MedianWallMS: 10, Capped: true}
	for _, tc := range []struct {
		num, den *StrategyResult
		want     string
	}{
		{capped, exact, ">5.00x"}, {exact, capped, "<0.20x"}, {capped, capped, "-"},
		{&StrategyResult{MedianWallMS: 300}, exact, "150x"}, {nil, exact, "-"},
	} {
		if got := ratio(tc.num, tc.den).String(); got != tc.want {
			t.Errorf("ratio %v/%v = %s, want %s", tc.num, tc.den, got, tc.want)
		}
	}
}
