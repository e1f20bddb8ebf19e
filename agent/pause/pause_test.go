package pause_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth/berth/agent/pause"
)

// The program is a valid static ELF executable for its machine: one PT_LOAD segment
// mapping the whole file read-only and executable, the entry point inside it, a
// non-executable stack, no interpreter, no sections.
func TestProgramIsStaticELF(t *testing.T) {
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, arch := range pause.Arches {
		t.Run(arch, func(t *testing.T) {
			prog, err := pause.Program(arch)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.NewFile(bytes.NewReader(prog))
			if err != nil {
				t.Fatalf("debug/elf: %v", err)
			}
			h := f.FileHeader
			if h.Class != elf.ELFCLASS64 || h.Data != elf.ELFDATA2LSB || h.Version != elf.EV_CURRENT ||
				h.OSABI != elf.ELFOSABI_NONE || h.Type != elf.ET_EXEC || h.Machine != machines[arch] {
				t.Fatalf("header %+v, want a little-endian 64-bit executable for %v", h, machines[arch])
			}
			if h.Entry != pause.EntryAddress {
				t.Errorf("entry %#x, want %#x", h.Entry, pause.EntryAddress)
			}
			if len(f.Sections) != 0 {
				t.Errorf("%d sections, want none", len(f.Sections))
			}
			if len(f.Progs) != 2 {
				t.Fatalf("%d program headers, want PT_LOAD and PT_GNU_STACK", len(f.Progs))
			}
			load, stack := f.Progs[0].ProgHeader, f.Progs[1].ProgHeader
			if load.Type != elf.PT_LOAD || load.Flags != elf.PF_R|elf.PF_X || load.Off != 0 ||
				load.Filesz != uint64(len(prog)) || load.Memsz != load.Filesz || load.Vaddr%load.Align != 0 {
				t.Errorf("PT_LOAD %+v, want the whole %d-byte file, readable and executable, aligned", load, len(prog))
			}
			if h.Entry <= load.Vaddr || h.Entry >= load.Vaddr+load.Memsz {
				t.Errorf("entry %#x outside the loaded %#x+%d", h.Entry, load.Vaddr, load.Memsz)
			}
			if stack.Type != elf.PT_GNU_STACK || stack.Flags != elf.PF_R|elf.PF_W {
				t.Errorf("second program header %+v, want PT_GNU_STACK RW", stack)
			}
			if len(prog) > 512 {
				t.Errorf("program is %d bytes; it should stay tiny", len(prog))
			}
		})
	}
}

func TestProgramOtherArchIsAnError(t *testing.T) {
	if _, err := pause.Program("riscv64"); err == nil || !strings.Contains(err.Error(), "configure a pause image") {
		t.Fatalf("riscv64: %v, want an error that says to configure a pause image", err)
	}
	if _, err := pause.Archive("x:1", "s390x", nil); err == nil {
		t.Fatal("s390x archive: no error")
	}
}

// On a Linux host of one of its architectures the program runs as it will in its
// container: it ignores SIGCHLD, blocks SIGINT and SIGTERM, waits, and exits 0 when
// one comes. (As PID 1 it is the Docker tests that run it.)
func TestProgramExitsZeroOnSignal(t *testing.T) {
	prog, err := pause.Program(goruntime.GOARCH)
	if goruntime.GOOS != "linux" || err != nil {
		t.Skipf("no pause program runs on %s/%s", goruntime.GOOS, goruntime.GOARCH)
	}
	path := filepath.Join(t.TempDir(), "pause")
	if err := os.WriteFile(path, prog, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitSignalsSet(t, cmd.Process.Pid)
		cmd.Process.Signal(sig)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("after %v: %v, want exit status 0", sig, err)
		}
	}
}

// waitSignalsSet waits until pid ignores SIGCHLD and sleeps, as /proc/pid/status
// shows: its one sleep is rt_sigtimedwait, so a signal sent next finds it waiting.
// (SigBlk shows nothing then: the kernel unblocks the awaited signals while it waits.)
func waitSignalsSet(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(status), "State:\tS") && ignoresSIGCHLD(string(status)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program did not set up its signals in 10s:\n%s", status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ignoresSIGCHLD says whether a /proc/pid/status shows SIGCHLD in its
// SigIgn mask (signal 17, bit 16). Other bits may be set: a process started
// under nohup inherits SIGHUP ignored.
func ignoresSIGCHLD(status string) bool {
	for _, line := range strings.Split(status, "\n") {
		if mask, ok := strings.CutPrefix(line, "SigIgn:\t"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(mask), 16, 64)
			return err == nil && n&(1<<(syscall.SIGCHLD-1)) != 0
		}
	}
	return false
}

// The archive is what `docker save` writes, which the Docker Engine loads: a manifest
// naming the config by its hash and tagging it, the config naming its one layer by
// the layer's hash, and the layer holding the program at /pause, the entrypoint. The
// same inputs make the same bytes.
func TestArchive(t *testing.T) {
	const ref = "berth-test/pause:archive"
	labels := map[string]string{"berth.test": "1"}
	archive, err := pause.Archive(ref, "arm64", labels)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := pause.Archive(ref, "arm64", labels); !bytes.Equal(archive, again) {
		t.Fatal("two archives of the same image differ")
	}
	files := untar(t, archive)
	var manifest []struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	if err := json.Unmarshal(files["manifest.json"], &manifest); err != nil {
		t.Fatal(err)
	}
	if len(manifest) != 1 || len(manifest[0].RepoTags) != 1 || manifest[0].RepoTags[0] != ref || len(manifest[0].Layers) != 1 {
		t.Fatalf("manifest %+v, want one image tagged %s with one layer", manifest, ref)
	}
	m := manifest[0]
	if m.Config != sha256Hex(files[m.Config])+".json" {
		t.Errorf("config %s is not named by its hash", m.Config)
	}
	var config struct {
		Architecture, OS string
		Config           struct {
			Entrypoint []string
			Labels     map[string]string
		}
		RootFS struct {
			Type    string
			DiffIDs []string `json:"diff_ids"`
		}
	}
	if err := json.Unmarshal(files[m.Config], &config); err != nil {
		t.Fatal(err)
	}
	if config.Architecture != "arm64" || config.OS != "linux" || len(config.Config.Entrypoint) != 1 || config.Config.Entrypoint[0] != pause.Path {
		t.Errorf("config %+v, want linux/arm64 with entrypoint %s", config, pause.Path)
	}
	if config.Config.Labels[pause.LabelImage] != "pause" || config.Config.Labels["berth.test"] != "1" {
		t.Errorf("labels %v, want berth.image=pause and the caller's", config.Config.Labels)
	}
	layer := files[m.Layers[0]]
	if config.RootFS.Type != "layers" || len(config.RootFS.DiffIDs) != 1 || config.RootFS.DiffIDs[0] != "sha256:"+sha256Hex(layer) {
		t.Errorf("rootfs %+v, want the layer's hash sha256:%s", config.RootFS, sha256Hex(layer))
	}
	prog, _ := pause.Program("arm64")
	if got := untar(t, layer)[pause.Path[1:]]; !bytes.Equal(got, prog) {
		t.Errorf("the layer's %s is %d bytes, not the program", pause.Path, len(got))
	}
}

func TestImageIsBerthsTag(t *testing.T) {
	repo, tag, ok := strings.Cut(pause.Image, ":")
	if !ok || repo != pause.Repository || len(tag) != 12 {
		t.Fatalf("Image %q, want %s:<12 hex digits>", pause.Image, pause.Repository)
	}
	if _, err := hex.DecodeString(tag); err != nil {
		t.Fatalf("Image %q: tag is not hex: %v", pause.Image, err)
	}
}

// untar returns archive's regular files by name.
func untar(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if files[hdr.Name], err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// The machine code as a disassembler (llvm-mc --disassemble) read it back when it was
// written, instruction for instruction as the comments in amd64prog.go and
// arm64prog.go give it, branches resolved. arm64 cannot run on the machines that test
// berth, so this is what holds its code still; a deliberate change updates it after
// disassembling the new code.
var disassembled = map[string]string{
	"amd64": "31c05050506a01b80d000000bf110000004889e631d241ba080000000f054885c078346802400000b80e000000" +
		"31ff4889e631d20f054885c0781cb8800000004889e731f631d20f054885c078ed31ffb8e70000000f05" +
		"bf01000000b8e70000000f05",
	"arm64": "ff8300d1290080d2e97f00a9ff7f01a9200280d2e1030091020080d2030180d2c81080d2010000d44002f8b7" +
		"490088d2e90300f9000080d2e1030091020080d2e81080d2010000d44001f8b7e0030091010080d2020080d2" +
		"281180d2010000d460ffffb7000080d2c80b80d2010000d4200080d2c80b80d2010000d4",
}

func TestProgramCodeIsAsDisassembled(t *testing.T) {
	for _, arch := range pause.Arches {
		prog, err := pause.Program(arch)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elf.NewFile(bytes.NewReader(prog))
		if err != nil {
			t.Fatal(err)
		}
		code := hex.EncodeToString(prog[f.Entry-f.Progs[0].Vaddr:]) // the code runs from the entry to the end
		if code != disassembled[arch] {
			t.Errorf("%s code\n%s\nwant\n%s", arch, code, disassembled[arch])
		}
	}
}
