// Package atrest is berth's encryption at rest: the key that seals SSM
// parameter values and Secrets Manager secrets before they reach the state
// file, shared by both services.
//
// The key file (KeyFile in the data dir, mode 0600) holds one or more
// AES-256 keys, each with an id; the last is the primary key, which seals.
// A ciphertext names the key that sealed it, so that a value sealed before a
// rotation still opens until it has been re-encrypted. Rotation is three
// steps, each safe to stop after: Rotate adds a new primary key to the file,
// the services re-encrypt what they store (Reencrypter), Retire forgets the
// older keys. A control plane that starts with more than one key in the file
// finishes an interrupted rotation.
//
// Sealing is AES-256-GCM from the standard library with a random nonce and
// additional data the caller binds to the value's place (a parameter's name
// and version), so a ciphertext moved to another record does not open.
// Plaintext never appears in an error of this package. It does no logging.
package atrest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// KeyFile is the key file's name in the data dir.
const KeyFile = "secrets.key"

// format is the first byte of every ciphertext: the layout version.
const format = 1

// header is the format byte and the key id; the nonce follows.
const header = 1 + 4

// ErrUnreadable says that a ciphertext does not open: a key that is gone, a
// damaged value, or additional data that does not match.
var ErrUnreadable = errors.New("atrest: the value does not decrypt")

// Keyring is the key file's keys. Its methods are safe for concurrent use.
type Keyring struct {
	path string
	mu   sync.RWMutex
	ids  []uint32 // in file order; the last is the primary
	keys map[uint32]cipher.AEAD
	raw  map[uint32][]byte
}

// Open loads the key file in dataDir, making it with one new key when there
// is none. A key file that others may read is refused.
func Open(dataDir string) (*Keyring, error) {
	k := &Keyring{path: filepath.Join(dataDir, KeyFile), keys: map[uint32]cipher.AEAD{}, raw: map[uint32][]byte{}}
	st, err := os.Stat(k.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := k.add(1); err != nil {
			return nil, err
		}
		return k, k.write()
	case err != nil:
		return nil, fmt.Errorf("atrest: %w", err)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("atrest: key file %s has mode %o: others may read it (chmod 600 it)", k.path, st.Mode().Perm())
	}
	data, err := os.ReadFile(k.path)
	if err != nil {
		return nil, fmt.Errorf("atrest: %w", err)
	}
	if err := k.parse(data); err != nil {
		return nil, fmt.Errorf("atrest: key file %s: %w", k.path, err)
	}
	return k, nil
}

// parse reads lines "<id> <base64 key>".
func (k *Keyring) parse(data []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		idText, keyText, ok := strings.Cut(text, " ")
		id, err := strconv.ParseUint(idText, 10, 32)
		if !ok || err != nil || id == 0 {
			return fmt.Errorf("line %d: want <key id> <base64 key>", line)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keyText))
		if err != nil || len(raw) != 32 {
			return fmt.Errorf("line %d: the key is not 32 bytes of base64", line)
		}
		if _, dup := k.keys[uint32(id)]; dup {
			return fmt.Errorf("line %d: key id %d twice", line, id)
		}
		if err := k.use(uint32(id), raw); err != nil {
			return err
		}
	}
	if len(k.ids) == 0 {
		return errors.New("no key")
	}
	return sc.Err()
}

func (k *Keyring) use(id uint32, raw []byte) error {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	k.ids = append(k.ids, id)
	k.keys[id], k.raw[id] = aead, raw
	return nil
}

func (k *Keyring) add(id uint32) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("atrest: %w", err)
	}
	return k.use(id, raw)
}

// write replaces the key file: a temporary file, synced, renamed over it.
func (k *Keyring) write() error {
	var b strings.Builder
	b.WriteString("# berth's keys for encryption at rest; the last one seals. Losing this file loses every secret.\n")
	for _, id := range k.ids {
		fmt.Fprintf(&b, "%d %s\n", id, base64.StdEncoding.EncodeToString(k.raw[id]))
	}
	tmp := k.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("atrest: %w", err)
	}
	_, err = f.WriteString(b.String())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, k.path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("atrest: write key file: %w", err)
	}
	return nil
}

// Primary is the id of the key that seals.
func (k *Keyring) Primary() uint32 {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.ids[len(k.ids)-1]
}

// Keys is how many keys the file holds (more than one: a rotation is not
// finished).
func (k *Keyring) Keys() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.ids)
}

// Seal encrypts plaintext with the primary key, bound to aad.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	k.mu.RLock()
	id := k.ids[len(k.ids)-1]
	aead := k.keys[id]
	k.mu.RUnlock()
	out := make([]byte, header+aead.NonceSize(), header+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = format
	binary.BigEndian.PutUint32(out[1:header], id)
	if _, err := rand.Read(out[header:]); err != nil {
		return nil, fmt.Errorf("atrest: %w", err)
	}
	return aead.Seal(out, out[header:], plaintext, aad), nil
}

// Decrypt opens a ciphertext Seal made with the same aad.
func (k *Keyring) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	id, ok := KeyID(ciphertext)
	if !ok {
		return nil, ErrUnreadable
	}
	k.mu.RLock()
	aead := k.keys[id]
	k.mu.RUnlock()
	if aead == nil || len(ciphertext) < header+aead.NonceSize()+aead.Overhead() {
		return nil, ErrUnreadable
	}
	nonce := ciphertext[header : header+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, ciphertext[header+aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrUnreadable
	}
	return plain, nil
}

// KeyID is the id of the key that sealed ciphertext.
func KeyID(ciphertext []byte) (uint32, bool) {
	if len(ciphertext) < header || ciphertext[0] != format {
		return 0, false
	}
	return binary.BigEndian.Uint32(ciphertext[1:header]), true
}

// Stale reports whether ciphertext was sealed by a key other than the
// primary, and so must be re-encrypted before Retire.
func (k *Keyring) Stale(ciphertext []byte) bool {
	id, _ := KeyID(ciphertext)
	return id != k.Primary()
}

// Reencrypt is ciphertext sealed anew with the primary key (the same aad).
func (k *Keyring) Reencrypt(ciphertext, aad []byte) ([]byte, error) {
	plain, err := k.Decrypt(ciphertext, aad)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return k.Seal(plain, aad)
}

// Rotate adds a new primary key to the file; the older keys still open what
// they sealed until Retire.
func (k *Keyring) Rotate() (uint32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := k.ids[len(k.ids)-1] + 1
	if err := k.add(id); err != nil {
		return 0, err
	}
	if err := k.write(); err != nil {
		k.ids = k.ids[:len(k.ids)-1]
		delete(k.keys, id)
		delete(k.raw, id)
		return 0, err
	}
	return id, nil
}

// Retire forgets every key but the primary. Call it only once everything
// sealed by them has been re-encrypted.
func (k *Keyring) Retire() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.ids) == 1 {
		return nil
	}
	ids, keys, raw := k.ids, k.keys, k.raw
	primary := ids[len(ids)-1]
	k.ids = []uint32{primary}
	k.keys = map[uint32]cipher.AEAD{primary: keys[primary]}
	k.raw = map[uint32][]byte{primary: raw[primary]}
	if err := k.write(); err != nil {
		k.ids, k.keys, k.raw = ids, keys, raw
		return err
	}
	return nil
}

// A Reencrypter is a service that stores values sealed by a Keyring: it
// seals every stored value that is Stale anew, and says how many.
type Reencrypter interface {
	ReencryptAll(ctx context.Context) (int, error)
}

// Rotate rotates k's key: a new primary key, every service's values
// re-encrypted with it, the older keys forgotten. If it fails half way the
// file keeps the older keys, and Finish (at the next start) completes it.
func Rotate(ctx context.Context, k *Keyring, services ...Reencrypter) (uint32, int, error) {
	id, err := k.Rotate()
	if err != nil {
		return 0, 0, err
	}
	n, err := Finish(ctx, k, services...)
	return id, n, err
}

// Finish completes a rotation: when the file holds older keys, every
// service re-encrypts with the primary key and the older keys are retired.
func Finish(ctx context.Context, k *Keyring, services ...Reencrypter) (int, error) {
	if k.Keys() == 1 {
		return 0, nil
	}
	total := 0
	for _, s := range services {
		n, err := s.ReencryptAll(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("atrest: re-encrypt: %w", err)
		}
	}
	return total, k.Retire()
}
