package taskendpoint

import (
	"time"

	"golang.org/x/sys/unix"
)

// hostClock reads the kernel's estimate of the clock's error and whether it
// is synchronized (adjtimex(2), changing nothing), as the ECS agent reports
// ClockDrift.
func hostClock(now time.Time) *ClockDrift {
	var tx unix.Timex // Modes 0: read only
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return nil
	}
	d := &ClockDrift{ClockErrorBound: float64(tx.Esterror) / 1000, ClockSynchronizationStatus: ClockSynchronized}
	if state == unix.TIME_ERROR || tx.Status&unix.STA_UNSYNC != 0 {
		d.ClockSynchronizationStatus = ClockNotSynchronized
	}
	ref := now.UTC()
	d.ReferenceTimestamp = &ref
	return d
}
