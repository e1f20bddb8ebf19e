package agent

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MemoryReserveMiB is the memory an instance keeps for its OS and the agent:
// registered memory is the machine's less this.
const MemoryReserveMiB = 256

// RegisterableMemoryMiB is the machine's memory (MemTotal in /proc/meminfo)
// less MemoryReserveMiB.
func RegisterableMemoryMiB() (int, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("read total memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				return 0, fmt.Errorf("MemTotal in /proc/meminfo: %w", err)
			}
			return kb/1024 - MemoryReserveMiB, nil
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}
