package scheduler

import (
	"math"
	"slices"
)

// resourceKind names a resource that sorted indexes order instances by.
type resourceKind uint8

const (
	byCPU resourceKind = iota
	byMemory
	numSortedResources
)

func (k resourceKind) of(r Resources) int64 {
	if k == byCPU {
		return r.CPU
	}
	return r.Memory
}

// sortedIndex keeps instances ordered by the remaining amount of one resource, then by
// snapshot index, so binpack finds the tightest fit by binary search instead of a scan.
// Each key packs both: remaining<<32 | index.
type sortedIndex struct {
	keys []uint64
}

// indexKey clamps rem to what a key holds; negative remaining never fits a task anyway.
func indexKey(rem int64, i int32) uint64 {
	rem = min(max(rem, 0), math.MaxInt32)
	return uint64(rem)<<32 | uint64(uint32(i))
}

// keyInstance and keyRemaining unpack a key.
func keyInstance(k uint64) int32  { return int32(uint32(k)) }
func keyRemaining(k uint64) int64 { return int64(k >> 32) }

// newSortedIndex indexes the given instances by kind.
func newSortedIndex(instances []Instance, members []int32, kind resourceKind) *sortedIndex {
	x := &sortedIndex{keys: make([]uint64, len(members))}
	for j, i := range members {
		x.keys[j] = indexKey(kind.of(instances[i].Remaining), i)
	}
	slices.Sort(x.keys)
	return x
}

// from returns the position of the first key with at least rem remaining.
func (x *sortedIndex) from(rem int64) int {
	pos, _ := slices.BinarySearch(x.keys, indexKey(rem, 0))
	return pos
}

// move re-sorts instance i after its remaining amount changed from old to rem, shifting
// only the keys between the two positions.
func (x *sortedIndex) move(i int32, old, rem int64) {
	oldKey, newKey := indexKey(old, i), indexKey(rem, i)
	if oldKey == newKey {
		return
	}
	at, _ := slices.BinarySearch(x.keys, oldKey)
	to, _ := slices.BinarySearch(x.keys, newKey)
	if to > at { // the key moves right: keys in (at, to) shift left
		to--
		copy(x.keys[at:to], x.keys[at+1:to+1])
	} else {
		copy(x.keys[to+1:at+1], x.keys[to:at])
	}
	x.keys[to] = newKey
}
