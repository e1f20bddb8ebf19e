package awsapi

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CredentialsFile is the name, in the data dir, of the access keys the
// gateway accepts, in the aws CLI's credentials file format. Its profile
// Profile is berth's own key, made at first start.
const (
	CredentialsFile = "aws-credentials"
	Profile         = "berth"
)

// Key is an access key pair.
type Key struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Keys are the access keys the gateway accepts, by access key id.
type Keys map[string]string

// LoadOrCreateKeys reads every profile's key in dir's credentials file,
// first writing it (mode 0600) with a new key under profile berth if there
// is none. It returns the berth profile's key too.
func LoadOrCreateKeys(dir string) (Keys, Key, error) {
	path := filepath.Join(dir, CredentialsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := newKey()
		content := fmt.Sprintf("[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", Profile, key.AccessKeyID, key.SecretAccessKey)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, Key{}, err
		}
		return Keys{key.AccessKeyID: key.SecretAccessKey}, key, nil
	}
	if err != nil {
		return nil, Key{}, err
	}
	profiles, err := parseCredentials(string(b))
	if err != nil {
		return nil, Key{}, fmt.Errorf("%s: %w", path, err)
	}
	keys := Keys{}
	for _, k := range profiles {
		keys[k.AccessKeyID] = k.SecretAccessKey
	}
	own, ok := profiles[Profile]
	if !ok {
		return nil, Key{}, fmt.Errorf("%s has no [%s] profile", path, Profile)
	}
	return keys, own, nil
}

// parseCredentials reads an aws CLI credentials file: [profile] sections of
// aws_access_key_id and aws_secret_access_key.
func parseCredentials(s string) (map[string]Key, error) {
	out := map[string]Key{}
	profile := ""
	sc := bufio.NewScanner(strings.NewReader(s))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			profile = strings.TrimSpace(line[1 : len(line)-1])
		default:
			name, value, ok := strings.Cut(line, "=")
			if !ok || profile == "" {
				return nil, fmt.Errorf("line %d: want name = value inside a [profile]", n)
			}
			k := out[profile]
			switch strings.TrimSpace(name) {
			case "aws_access_key_id":
				k.AccessKeyID = strings.TrimSpace(value)
			case "aws_secret_access_key":
				k.SecretAccessKey = strings.TrimSpace(value)
			}
			out[profile] = k
		}
	}
	for name, k := range out {
		if k.AccessKeyID == "" || k.SecretAccessKey == "" {
			return nil, fmt.Errorf("profile %s lacks aws_access_key_id or aws_secret_access_key", name)
		}
	}
	return out, nil
}

// newKey makes an access key pair shaped like AWS's: AKIA and 16 capitals or
// digits; a 40-character secret.
func newKey() Key {
	const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const secret = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	pick := func(alphabet string, n int) string {
		b := make([]byte, n)
		rand.Read(b)
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		return string(b)
	}
	return Key{AccessKeyID: "AKIA" + pick(upper, 16), SecretAccessKey: pick(secret, 40)}
}
