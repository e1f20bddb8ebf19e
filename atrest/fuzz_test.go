package atrest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzKeyFileAndCiphertext: a key file and a stored ciphertext, both read
// from disk, are refused or read without a panic; a damaged ciphertext
// never opens.
func FuzzKeyFileAndCiphertext(f *testing.F) {
	f.Add([]byte("1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), []byte{1, 0, 0, 0, 1})
	f.Add([]byte("# x\n2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), []byte{})
	f.Fuzz(func(t *testing.T, file, ciphertext []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, KeyFile), file, 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := Open(dir)
		if err != nil {
			return
		}
		if _, err := k.Decrypt(ciphertext, nil); err == nil {
			t.Fatalf("a ciphertext no Seal made opened: %x", ciphertext)
		}
	})
}
