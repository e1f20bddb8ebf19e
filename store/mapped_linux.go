package store

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped drops the process's mappings of the state file's pages
// (madvise MADV_DONTNEED): they stay in the page cache, and the next read
// of one maps it again. The file is mapped read-only and shared (bbolt
// writes with pwrite), so nothing is lost. Without this, every page read
// once, such as the whole file at Open, counts in the process's resident
// memory for as long as it runs. The read transaction keeps bbolt from
// remapping the file meanwhile; its size is the data's end.
func releaseMapped(db *bolt.DB) error {
	return db.View(func(tx *bolt.Tx) error {
		_, _, errno := syscall.Syscall(syscall.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
		if errno != 0 {
			return errno
		}
		return nil
	})
}
