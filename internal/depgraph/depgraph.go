// Package depgraph orders a dependency graph and finds its cycles. Nodes
// are 0..n-1, in the order that breaks ties; deps[i] are the nodes i
// depends on (runs after).
package depgraph

import "container/heap"

// Order returns the nodes in dependency order, every node after those it
// depends on, ties broken by the smaller node; placed is how many are in
// that order, the rest (in or after a cycle) following in node order.
// selfLoop says a node depends on itself (a cycle Order passes over).
func Order(deps [][]int) (order []int, placed int, selfLoop bool) {
	n := len(deps)
	indeg := make([]int, n)
	dependents := make([][]int, n)
	for i, ds := range deps {
		for _, j := range ds {
			if j == i {
				selfLoop = true
				continue
			}
			indeg[i]++
			dependents[j] = append(dependents[j], i)
		}
	}
	ready := &intHeap{}
	for i := range n {
		if indeg[i] == 0 {
			ready.items = append(ready.items, i)
		}
	}
	heap.Init(ready)
	order = make([]int, 0, n)
	done := make([]bool, n)
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		done[i] = true
		for _, d := range dependents[i] {
			if indeg[d]--; indeg[d] == 0 {
				heap.Push(ready, d)
			}
		}
	}
	placed = len(order)
	for i := range n {
		if !done[i] {
			order = append(order, i)
		}
	}
	return order, placed, selfLoop
}

// Cycles returns each cycle once, as a path that starts and ends at the
// same node, in the direction of "runs before". Each strongly connected
// component is searched on its own from its smallest node, so that what
// is reported of a cycle depends only on the nodes in it.
func Cycles(deps [][]int) [][]int {
	comp := components(deps)
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(deps))
	var stack, out = []int{}, [][]int{}
	var visit func(i int)
	visit = func(i int) {
		state[i] = onStack
		stack = append(stack, i)
		for _, d := range deps[i] {
			if comp[d] != comp[i] {
				continue
			}
			switch state[d] {
			case unvisited:
				visit(d)
			case onStack:
				k := len(stack) - 1
				for stack[k] != d {
					k--
				}
				out = append(out, append(append([]int{}, stack[k:]...), d))
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
	}
	for i := range deps {
		if state[i] == unvisited {
			visit(i)
		}
	}
	return out
}

// components numbers the strongly connected components (Tarjan's
// algorithm): node → its component.
func components(deps [][]int) []int {
	n := len(deps)
	index, low, comp := make([]int, n), make([]int, n), make([]int, n)
	for i := range index {
		index[i] = -1
	}
	onStack := make([]bool, n)
	var stack []int
	next, count := 0, 0
	var strong func(i int)
	strong = func(i int) {
		index[i], low[i] = next, next
		next++
		stack = append(stack, i)
		onStack[i] = true
		for _, d := range deps[i] {
			switch {
			case index[d] < 0:
				strong(d)
				low[i] = min(low[i], low[d])
			case onStack[d]:
				low[i] = min(low[i], index[d])
			}
		}
		if low[i] == index[i] {
			for {
				j := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[j], comp[j] = false, count
				if j == i {
					break
				}
			}
			count++
		}
	}
	for i := range n {
		if index[i] < 0 {
			strong(i)
		}
	}
	return comp
}

// intHeap yields the smallest node first.
type intHeap struct{ items []int }

func (h *intHeap) Len() int           { return len(h.items) }
func (h *intHeap) Less(i, j int) bool { return h.items[i] < h.items[j] }
func (h *intHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *intHeap) Push(x any)         { h.items = append(h.items, x.(int)) }
func (h *intHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
