//go:build !linux

package taskendpoint

import (
	"errors"
	"net"
)

// ListenInNetns is Linux's.
func ListenInNetns(int, string) (net.Listener, error) {
	return nil, errors.New("network namespaces are Linux's")
}

const netnsSupported = false
