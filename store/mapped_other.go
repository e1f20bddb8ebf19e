//go:build !linux

package store

import bolt "go.etcd.io/bbolt"

// releaseMapped is Linux's only (see mapped_linux.go).
func releaseMapped(*bolt.DB) error { return nil }
