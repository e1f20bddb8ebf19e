package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
)

// Link is a network namespace of berth-chaos' own (ip netns) joined to this
// one by a veth pair on a private /30 in 10.231.0.0/16: HostIP on this
// side, NsIP in the namespace. Cut takes this side down, so that nothing
// crosses (the host side's address still answers here: a connection from
// this namespace to HostIP goes by loopback); Heal brings it up again.
type Link struct {
	Netns        string // berth-chaos-<hex>
	HostIf, NsIf string // the veth ends: bch<hex> here, bcn<hex> there
	HostIP, NsIP netip.Addr
	removed      bool
}

// CanPartition says why this machine cannot make a Link, or nil: it needs
// root and iproute2's ip.
func CanPartition() error {
	if os.Geteuid() != 0 {
		return errors.New("a network namespace needs root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("a network namespace needs iproute2's ip: %w", err)
	}
	return nil
}

// NewLink makes the namespace and its veth pair, addressed and up, on a /30
// that no address of this machine falls in. The caller must Remove it,
// also when NewLink fails after making part of it (Remove is safe then).
func NewLink() (*Link, error) {
	tag := fmt.Sprintf("%06x", rand.IntN(1<<24))
	l := &Link{Netns: "berth-chaos-" + tag, HostIf: "bch" + tag, NsIf: "bcn" + tag}
	var err error
	if l.HostIP, l.NsIP, err = freeSubnet(); err != nil {
		return l, err
	}
	host, ns := l.HostIP.String()+"/30", l.NsIP.String()+"/30"
	for _, args := range [][]string{
		{"netns", "add", l.Netns},
		{"link", "add", l.HostIf, "type", "veth", "peer", "name", l.NsIf, "netns", l.Netns},
		{"addr", "add", host, "dev", l.HostIf},
		{"link", "set", l.HostIf, "up"},
		{"-n", l.Netns, "addr", "add", ns, "dev", l.NsIf},
		{"-n", l.Netns, "link", "set", l.NsIf, "up"},
		{"-n", l.Netns, "link", "set", "lo", "up"},
	} {
		if err := ip(args...); err != nil {
			return l, err
		}
	}
	return l, nil
}

// freeSubnet picks a /30 of 10.231.0.0/16 that holds no address of this
// machine's and lies in no prefix of its: its first two addresses.
func freeSubnet() (host, ns netip.Addr, err error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return host, ns, err
	}
	var have []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(n.String()); err == nil {
				have = append(have, p.Masked())
			}
		}
	}
	for range 100 {
		n := rand.IntN(1 << 14)
		sub := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 231, byte(n >> 6), byte(n&63) << 2}), 30)
		if !overlaps(sub, have) {
			return sub.Addr().Next(), sub.Addr().Next().Next(), nil
		}
	}
	return host, ns, errors.New("no free /30 in 10.231.0.0/16")
}

func overlaps(p netip.Prefix, have []netip.Prefix) bool {
	for _, h := range have {
		if h.Overlaps(p) {
			return true
		}
	}
	return false
}

// Cut takes the host side of the veth pair down: the namespace is cut off.
func (l *Link) Cut() error { return ip("link", "set", l.HostIf, "down") }

// Heal brings the host side up again.
func (l *Link) Heal() error { return ip("link", "set", l.HostIf, "up") }

// Remove deletes the veth pair and the namespace (what of them exists). A
// process still in the namespace keeps it alive, unnamed, until it exits.
func (l *Link) Remove() error {
	if l == nil || l.removed {
		return nil
	}
	l.removed = true
	var errs []error
	if err := ip("link", "del", l.HostIf); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
		errs = append(errs, err)
	}
	if err := ip("netns", "del", l.Netns); err != nil && !strings.Contains(err.Error(), "No such file") {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
