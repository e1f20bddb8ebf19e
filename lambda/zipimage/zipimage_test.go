package zipimage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/berth/berth/lambda/envplan"
	"github.com/berth/berth/lambda/invoke"
)

type entry struct {
	name string
	mode fs.FileMode
	data string
}

func zipOf(t *testing.T, entries ...entry) *zip.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		h.SetMode(e.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// files lists a build context: name -> mode and content (or link).
func files(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		v := string(b)
		if h.Linkname != "" {
			v = "-> " + h.Linkname
		}
		out[h.Name] = fs.FileMode(h.Mode).String() + " " + v
	}
}

func TestContextCustomRuntime(t *testing.T) {
	zr := zipOf(t, entry{"bootstrap", 0o755, "#!bin"}, entry{"lib/", fs.ModeDir | 0o755, ""}, entry{"lib/data.txt", 0o644, "d"},
		entry{"link", fs.ModeSymlink | 0o777, "lib/data.txt"})
	r, err := Context(zr, invoke.Function{Runtime: "provided.al2023", Handler: "bootstrap"}, "")
	if err != nil {
		t.Fatal(err)
	}
	got := files(t, r)
	for name, want := range map[string]string{
		"var/task/bootstrap":    "-rwxr-xr-x #!bin",
		"var/task/lib/":         "-rwxr-xr-x ",
		"var/task/lib/data.txt": "-rw-r--r-- d",
		"var/task/link":         "-rwxrwxrwx -> lib/data.txt",
		"tmp/":                  "trwxrwxrwx ",
	} {
		if got[name] != want && !(name == "tmp/" && strings.HasSuffix(got[name], "rwxrwxrwx ")) {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	if df := got["Dockerfile"]; !strings.Contains(df, "FROM scratch") || !strings.Contains(df, `ENTRYPOINT ["/var/task/bootstrap"]`) {
		t.Errorf("Dockerfile %q", df)
	}
}

func TestContextManagedRuntime(t *testing.T) {
	zr := zipOf(t, entry{"app.py", 0o644, "def handler(e, c): return 1"})
	r, err := Context(zr, invoke.Function{Runtime: "python3.12", Handler: "app.handler"}, "base/python:3.12")
	if err != nil {
		t.Fatal(err)
	}
	df := files(t, r)["Dockerfile"]
	if !strings.Contains(df, "FROM base/python:3.12") || !strings.Contains(df, `CMD ["app.handler"]`) || strings.Contains(df, "ENTRYPOINT") {
		t.Errorf("Dockerfile %q", df)
	}
}

func TestContextRefusesEscapes(t *testing.T) {
	for _, name := range []string{"../evil", "a/../../evil", "/etc/passwd"} {
		if _, err := Context(zipOf(t, entry{name, 0o644, "x"}), invoke.Function{Runtime: "provided.al2"}, ""); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestUnmappedRuntime(t *testing.T) {
	b := New(Config{RuntimeImages: map[string]string{"nodejs22.x": "node-base"}})
	_, err := b.Image(context.Background(), invoke.Function{PackageType: "Zip", Runtime: "python3.12", CodeSha256: "x"})
	var fe *envplan.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Runtime.Unsupported" || !strings.Contains(fe.Message, "--lambda-runtime-image python3.12=IMAGE") {
		t.Errorf("err %v", err)
	}
	if err := b.Prepare(context.Background(), invoke.Function{PackageType: "Zip", Runtime: "python3.12"}, ""); err != nil {
		t.Errorf("Prepare of an unmapped runtime: %v", err)
	}
	if Tag("a", "") == Tag("a", "base") || !strings.HasPrefix(Tag("a", ""), Repository+":") {
		t.Error("Tag")
	}
	if IsCustomRuntime("python3.12") || !IsCustomRuntime("provided.al2023") || !IsCustomRuntime("provided") {
		t.Error("IsCustomRuntime")
	}
}

func TestRuntimeImagesFlag(t *testing.T) {
	r := RuntimeImages{}
	for _, s := range []string{"python3.12=public.ecr.aws/lambda/python:3.12", "nodejs22.x = node-base"} {
		if err := r.Set(s); err != nil {
			t.Errorf("Set(%q): %v", s, err)
		}
	}
	if got := r.String(); got != "nodejs22.x=node-base,python3.12=public.ecr.aws/lambda/python:3.12" {
		t.Errorf("String = %q", got)
	}
	for _, bad := range []string{"python3.12", "=img", "python3.12=", "provided.al2023=img"} {
		if err := r.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}
