package atrest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenAndRotate(t *testing.T) {
	dir := t.TempDir()
	k, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	secret := []byte("hunter2")
	ct, err := k.Seal(secret, []byte("param/a:1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, secret) {
		t.Fatal("the ciphertext holds the plaintext")
	}
	if _, err := k.Decrypt(ct, []byte("param/b:1")); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("open with other additional data: %v", err)
	}
	damaged := bytes.Clone(ct)
	damaged[len(damaged)-1] ^= 1
	if _, err := k.Decrypt(damaged, []byte("param/a:1")); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("open a damaged value: %v", err)
	}

	// A second Open reads the same key.
	k2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Decrypt(ct, []byte("param/a:1")); err != nil || string(got) != "hunter2" {
		t.Fatalf("reopened: %q, %v", got, err)
	}

	// Rotation: the old value still opens, is stale, re-encrypts; after
	// Retire only the new ciphertext opens.
	id, err := k2.Rotate()
	if err != nil || id != 2 || k2.Keys() != 2 {
		t.Fatalf("rotate: %d, %v, %d keys", id, err, k2.Keys())
	}
	if !k2.Stale(ct) {
		t.Fatal("a value of the old key is not stale")
	}
	ct2, err := k2.Reencrypt(ct, []byte("param/a:1"))
	if err != nil || k2.Stale(ct2) {
		t.Fatalf("reencrypt: %v", err)
	}
	if err := k2.Retire(); err != nil {
		t.Fatal(err)
	}
	k3, err := Open(dir)
	if err != nil || k3.Keys() != 1 || k3.Primary() != 2 {
		t.Fatalf("after retire: %v", err)
	}
	if _, err := k3.Decrypt(ct, []byte("param/a:1")); !errors.Is(err, ErrUnreadable) {
		t.Fatalf("the retired key still opens: %v", err)
	}
	if got, err := k3.Decrypt(ct2, []byte("param/a:1")); err != nil || string(got) != "hunter2" {
		t.Fatalf("re-encrypted value: %q, %v", got, err)
	}
}

func TestKeyFileOthersMayReadIsRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); err == nil {
		t.Fatal("a key file of mode 644 was accepted")
	}
}

func TestBadKeyFile(t *testing.T) {
	for _, text := range []string{"", "1 c2hvcnQ=\n", "x AAAA\n", "1 " + string(bytes.Repeat([]byte("A"), 44)) + "\n1 " + string(bytes.Repeat([]byte("A"), 44)) + "\n"} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err == nil {
			t.Errorf("key file %q was accepted", text)
		}
	}
}

type failing struct{ n int }

func (f *failing) ReencryptAll(context.Context) (int, error) {
	f.n++
	if f.n == 1 {
		return 0, errors.New("store closed")
	}
	return 3, nil
}

// A rotation that fails half way keeps the old key; Finish completes it.
func TestRotateFinishesLater(t *testing.T) {
	k, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := &failing{}
	if _, _, err := Rotate(context.Background(), k, f); err == nil {
		t.Fatal("rotation over a failing service succeeded")
	}
	if k.Keys() != 2 {
		t.Fatalf("after a failed rotation the file has %d keys, want both", k.Keys())
	}
	n, err := Finish(context.Background(), k, f)
	if err != nil || n != 3 || k.Keys() != 1 {
		t.Fatalf("finish: %d, %v, %d keys", n, err, k.Keys())
	}
}
