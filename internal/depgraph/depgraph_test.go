package depgraph

import (
	"fmt"
	"testing"
)

func TestOrderBreaksTiesBySmallerNode(t *testing.T) {
	// 0 runs after 2; 2 after 1; 3 after itself and 4, 4 after 3.
	order, placed, selfLoop := Order([][]int{{2}, {}, {1}, {3, 4}, {3}})
	if fmt.Sprint(order) != "[1 2 0 3 4]" || placed != 3 || !selfLoop {
		t.Errorf("order %v, placed %d, self loop %v", order, placed, selfLoop)
	}
}

// TestCyclesDependOnlyOnTheirComponent: nodes outside a cycle that reach
// it do not change what is reported of it.
func TestCyclesDependOnlyOnTheirComponent(t *testing.T) {
	alone := Cycles([][]int{{1}, {2, 0}, {0}}) // 0 → 1 → 2 → 0, 1 → 0
	// The same cycle as nodes 2, 3, 4, with 0 and 1 depending on 4 first.
	reached := Cycles([][]int{{4}, {3}, {3}, {4, 2}, {2}})
	shift := func(cs [][]int, by int) string {
		var out [][]int
		for _, c := range cs {
			var m []int
			for _, n := range c {
				m = append(m, n-by)
			}
			out = append(out, m)
		}
		return fmt.Sprint(out)
	}
	if shift(reached, 2) != fmt.Sprint(alone) {
		t.Errorf("reached from outside: %v, alone: %v", reached, alone)
	}
	if got := Cycles([][]int{{0}}); fmt.Sprint(got) != "[[0 0]]" {
		t.Errorf("self loop: %v", got)
	}
}
