package drive

import (
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// One disturbed round sets the range but hardly moves the interquartile
// range, as it hardly moves the median: the lead's 64x1024B raw rounds.
func TestSpreadsOfRoundsWithOneOutlier(t *testing.T) {
	rounds := []float64{2.45, 1.53, 1.49, 1.86, 1.58, 1.52}
	r, q := spreads(rounds)
	m := median(rounds) // 1.555
	if !near(r, (2.45-1.49)/m) {
		t.Errorf("range %v, want %v", r, (2.45-1.49)/m)
	}
	// Sorted 1.49 1.52 1.53 1.58 1.86 2.45: Q1 at 1.25 → 1.5225, Q3 at 3.75 → 1.79.
	if !near(q, (1.79-1.5225)/m) {
		t.Errorf("IQR %v, want %v", q, (1.79-1.5225)/m)
	}
	if r < 3*q {
		t.Errorf("range %.3f not far above IQR %.3f", r, q)
	}
	if r, q := spreads([]float64{1}); !math.IsNaN(r) || !math.IsNaN(q) {
		t.Errorf("one round: %v %v, want NaN", r, q)
	}
}

func TestQuartilesInterpolate(t *testing.T) {
	for _, tc := range []struct {
		xs     []float64
		q1, q3 float64
	}{
		{[]float64{3, 1, 2}, 1.5, 2.5},
		{[]float64{5, 1, 4, 2, 3}, 2, 4},
		{[]float64{7}, 7, 7},
	} {
		if q1, q3 := quartiles(tc.xs); !near(q1, tc.q1) || !near(q3, tc.q3) {
			t.Errorf("quartiles(%v) = %v, %v, want %v, %v", tc.xs, q1, q3, tc.q1, tc.q3)
		}
	}
}
