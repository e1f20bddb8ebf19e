package taskdef

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestFargateTable(t *testing.T) {
	pairs := 0
	for _, size := range fargateSizes {
		pairs += len(size.memory)
	}
	if pairs != 74 {
		t.Fatalf("Fargate table has %d cpu/memory pairs, want 74", pairs)
	}
	for _, size := range fargateSizes {
		for _, memory := range size.memory {
			for _, delta := range []int{0, 512} {
				doc := strings.NewReplacer("CPU", strconv.Itoa(size.cpu), "MEM", strconv.Itoa(memory+delta)).Replace(
					`{'family': 'f', 'requiresCompatibilities': ['FARGATE'], 'networkMode': 'awsvpc',
					'cpu': 'CPU', 'memory': 'MEM', 'containerDefinitions': [{'name': 'a', 'image': 'x'}]}`)
				_, err := Validate(decode(t, doc))
				valid := delta == 0 || slices.Contains(size.memory, memory+delta)
				if (err == nil) != valid {
					t.Errorf("cpu %d memory %d: err %v, want valid %v", size.cpu, memory+delta, err, valid)
				}
			}
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in        string
		memory    bool
		want      int
		ok, whole bool
	}{
		{"256", false, 256, true, true},
		{"1 vCPU", false, 1024, true, true},
		{"0.5 vcpu", false, 512, true, true},
		{".25VCPU", false, 256, true, true},
		{"1.5 vCPU", false, 1536, true, true},
		{"192 vcpu", false, 196608, true, true},
		{"0.1 vcpu", false, 0, true, false},
		{"256.5", false, 0, true, false},
		{"1 GB", false, 0, false, false},
		{"vcpu", false, 0, false, false},
		{"1e3", false, 0, false, false},
		{"-1", false, 0, false, false},
		{"", false, 0, false, false},
		{"99999999999999999999 vcpu", false, 2147483647, true, true},
		{"512", true, 512, true, true},
		{"1GB", true, 1024, true, true},
		{"2 gb", true, 2048, true, true},
		{"0.5 GB", true, 512, true, true},
		{"1 GiB", true, 0, false, false},
		{"512 MB", true, 0, false, false},
	}
	for _, tt := range tests {
		units := cpuUnits
		if tt.memory {
			units = memoryUnits
		}
		n, ok, whole := parseAmount(tt.in, units)
		if ok != tt.ok || whole != tt.whole || (whole && n != tt.want) {
			t.Errorf("parseAmount(%q) = %d, %v, %v; want %d, %v, %v", tt.in, n, ok, whole, tt.want, tt.ok, tt.whole)
		}
	}
}
