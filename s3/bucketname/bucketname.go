// Package bucketname holds S3's rules for general purpose bucket names,
// without I/O.
package bucketname

import (
	"errors"
	"net/netip"
	"strings"
)

// Validate returns why S3 refuses name as a bucket name, or nil: 3 to 63
// characters of lowercase letters, digits, dots and hyphens; a letter or
// digit first and last; no two dots together, no dot beside a hyphen; not
// shaped as an IPv4 address; not one of S3's reserved prefixes (xn--,
// sthree-, amzn-s3-demo-) or suffixes (-s3alias, --ol-s3, .mrap, --x-s3,
// --table-s3).
func Validate(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return errors.New("bucket names must be between 3 and 63 characters long")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return errors.New("bucket names can consist only of lowercase letters, numbers, dots (.), and hyphens (-)")
		}
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return errors.New("bucket names must begin and end with a letter or number")
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return errors.New("bucket names must not contain two adjacent periods, or a period beside a hyphen")
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return errors.New("bucket names must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return errors.New("bucket names must not start with the prefix " + p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return errors.New("bucket names must not end with the suffix " + s)
		}
	}
	return nil
}
