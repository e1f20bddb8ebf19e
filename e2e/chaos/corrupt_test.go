package chaos

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// TestCorruptStateFileRefused: a control plane whose state file is
// truncated or has its meta pages overwritten refuses to start with a
// message naming the file, and leaves the file as it was: it never starts
// empty over it.
func TestCorruptStateFileRefused(t *testing.T) {
	bin := controlPlaneBinary(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cp := &ControlPlane{Bin: bin, DataDir: good, GRPCAddr: addr}
	if err := cp.Start(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	cl, err := cp.Dial()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for range 50 { // a file of several pages
		_, err := cl.RegisterTaskDefinition(cl.Ctx(ctx), &berthv1.RegisterTaskDefinitionRequest{Family: "corrupt",
			ContainerDefinitions: []*berthv1.ContainerDefinition{{Name: "app", Image: "busybox", Memory: proto.Int32(16), Command: []string{strings.Repeat("x", 2000)}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	cl.Close()
	cp.Kill()
	state, err := os.ReadFile(filepath.Join(good, "state.db"))
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name  string
		spoil func([]byte) []byte
	}{
		{"truncated to nothing", func([]byte) []byte { return nil }},
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated mid-page", func(b []byte) []byte { return b[:4096+100] }},
		{"meta pages overwritten", func(b []byte) []byte {
			out := append([]byte(nil), b...)
			for i := 16; i < 2*4096 && i < len(out); i++ {
				out[i] = byte(i*7 + 3)
			}
			return out
		}},
		{"root page id bit flipped", func(b []byte) []byte {
			// bbolt's meta (after the page's 16-byte header): root page
			// id at 16, transaction id at 48; the newer meta is in use
			meta := func(page int, off int) uint64 { return binary.NativeEndian.Uint64(b[page*4096+16+off:]) }
			inUse := 0
			if meta(1, 48) > meta(0, 48) {
				inUse = 1
			}
			out := append([]byte(nil), b...)
			out[int(meta(inUse, 16))*4096] ^= 0x40
			return out
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			if err := os.CopyFS(data, os.DirFS(good)); err != nil {
				t.Fatal(err)
			}
			spoilt := c.spoil(state)
			path := filepath.Join(data, "state.db")
			if err := os.WriteFile(path, spoilt, 0o600); err != nil {
				t.Fatal(err)
			}
			cp := &ControlPlane{Bin: bin, DataDir: data, GRPCAddr: addr}
			err := cp.Start(2 * time.Minute)
			defer cp.Kill()
			var exit *ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("a control plane with its state file %s: %v; want it to refuse to start", c.name, err)
			}
			switch {
			case strings.Contains(exit.Output, "panic: "), strings.Contains(exit.Output, "fatal error: "):
				t.Errorf("refused with a panic:\n%s", exit.Output)
			case !strings.Contains(exit.Output, "state file "+path+" is truncated or corrupt: "):
				t.Errorf("the refusal does not name the state file and what is wrong:\n%s", exit.Output)
			default:
				t.Logf("refused: %s", lastLine(exit.Output))
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(spoilt) {
				t.Errorf("the refused state file changed (%d bytes, was %d)", len(after), len(spoilt))
			}
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}
