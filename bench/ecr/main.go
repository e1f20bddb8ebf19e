// Command ecr measures berth's image registry (ECR) with the real docker CLI
// and daemon and with go-containerregistry's registry client. It starts a
// control plane in this process on a temporary data dir, makes a 100 MiB
// single-layer image FROM scratch (random, incompressible content) and, for
// each of -rounds rounds:
//
//   - docker push of the image to berth's registry, and docker pull of it
//     after every local name of the image is gone;
//   - docker save of the same image to a file, and docker load of the file
//     after every local name of the image is gone: the baseline, on the
//     same daemon.
//
// Then -pulls clients pull the image at once through the registry API
// (manifest, config and layer, the layer read to the end) with
// go-containerregistry's remote client: throughput and latency percentiles.
// It prints one JSON object, and removes every image it made (it makes no
// container and no build cache: the image is loaded from a tarball).
//
//	go run ./bench/ecr -rounds 3 -pulls 50
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/controlplane"
)

// targetRatio is the project's target: push and pull within 1.5x of save and load.
const targetRatio = 1.5

type round struct {
	PushS float64 `json:"push_s"`
	PullS float64 `json:"pull_s"`
	SaveS float64 `json:"save_s"`
	LoadS float64 `json:"load_s"`
	// GzipS is how long compress/gzip (default level, one core) takes over
	// the layer: docker push compresses the layer so, save does not.
	GzipS float64 `json:"gzip_layer_s"`
	// APIPushS is the push of the same image, its layer already
	// compressed, through the registry API with go-containerregistry's
	// client: the registry's part of a push.
	APIPushS float64 `json:"api_push_precompressed_s"`
}

type concurrent struct {
	Clients      int     `json:"clients"`
	ImageMiB     float64 `json:"image_mib"`
	WallS        float64 `json:"wall_s"`
	MiBPerSecond float64 `json:"mib_per_s"`
	PullsPerS    float64 `json:"pulls_per_s"`
	P50S         float64 `json:"p50_s"`
	P99S         float64 `json:"p99_s"`
	MaxS         float64 `json:"max_s"`
}

type result struct {
	LayerMiB     int     `json:"layer_mib"`
	Rounds       []round `json:"rounds"`
	Median       round   `json:"median"`
	PushOverSave float64 `json:"push_over_save"`
	PullOverLoad float64 `json:"pull_over_load"`
	// RoundTrip is (push+pull)/(save+load): the image through the registry
	// against through a file, on the same daemon.
	RoundTrip     float64    `json:"push_pull_over_save_load"`
	MeetsTarget   bool       `json:"meets_target"`
	Concurrent    concurrent `json:"concurrent_pulls"`
	DockerVersion string     `json:"docker_version"`
}

func main() {
	mib := flag.Int("mib", 100, "the layer's size in MiB")
	rounds := flag.Int("rounds", 3, "push/pull and save/load rounds (at least 1)")
	pulls := flag.Int("pulls", 50, "concurrent registry API pulls")
	flag.Parse()
	if *rounds < 1 || *pulls < 1 || *mib < 1 {
		fmt.Fprintln(os.Stderr, "bench/ecr: -rounds, -pulls and -mib must be at least 1")
		os.Exit(2)
	}
	if err := run(*mib, *rounds, *pulls); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ecr:", err)
		os.Exit(1)
	}
}

func run(mib, rounds, pulls int) (err error) {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "berth-bench-ecr-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cp, err := controlplane.Start(ctx, controlplane.Config{
		DataDir: filepath.Join(tmp, "data"), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", RegistryAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err = errors.Join(err, cp.Shutdown(sctx))
	}()
	if _, err := cp.ECR().CreateRepository(ctx, &berthv1.CreateRepositoryRequest{RepositoryName: "bench"}); err != nil {
		return err
	}
	tok, err := cp.ECR().GetAuthorizationToken(ctx, &berthv1.GetAuthorizationTokenRequest{})
	if err != nil {
		return err
	}
	userPassword, err := base64.StdEncoding.DecodeString(tok.GetAuthorizationData()[0].GetAuthorizationToken())
	if err != nil {
		return err
	}
	password := strings.TrimPrefix(string(userPassword), "AWS:")

	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	local := fmt.Sprintf("berth-bench-ecr:%x", suffix)
	d := &docker{config: filepath.Join(tmp, "docker")}
	var tags []string
	defer func() { d.removeImages(append(tags, local)...) }()

	if err := d.run(password, "login", "--username", "AWS", "--password-stdin", cp.RegistryAddr()); err != nil {
		return err
	}
	res := result{LayerMiB: mib}
	res.DockerVersion, _ = d.output("version", "--format", "{{.Server.Version}}")
	saved := filepath.Join(tmp, "saved.tar")
	tarPath := filepath.Join(tmp, "image.tar")
	for i := 0; i < rounds; i++ {
		// A new image each round: a layer the registry or the daemon
		// already has would be skipped.
		d.removeImages(local)
		img, gz, err := writeImage(tarPath, local, mib)
		if err != nil {
			return err
		}
		apiPush, err := pushAPI(ctx, img, fmt.Sprintf("%s/bench:%x-api-%d", cp.RegistryAddr(), suffix, i), password)
		if err != nil {
			return err
		}
		if err := d.run("", "load", "-i", tarPath); err != nil {
			return err
		}
		tags = append(tags, fmt.Sprintf("%s/bench:%x-%d", cp.RegistryAddr(), suffix, i))
		r, err := d.round(local, saved, tags[i])
		if err != nil {
			return err
		}
		r.GzipS, r.APIPushS = gz, apiPush
		res.Rounds = append(res.Rounds, r)
	}
	res.Median = round{
		PushS:    median(res.Rounds, func(r round) float64 { return r.PushS }),
		PullS:    median(res.Rounds, func(r round) float64 { return r.PullS }),
		SaveS:    median(res.Rounds, func(r round) float64 { return r.SaveS }),
		LoadS:    median(res.Rounds, func(r round) float64 { return r.LoadS }),
		GzipS:    median(res.Rounds, func(r round) float64 { return r.GzipS }),
		APIPushS: median(res.Rounds, func(r round) float64 { return r.APIPushS }),
	}
	res.PushOverSave = round3(res.Median.PushS / res.Median.SaveS)
	res.PullOverLoad = round3(res.Median.PullS / res.Median.LoadS)
	res.RoundTrip = round3((res.Median.PushS + res.Median.PullS) / (res.Median.SaveS + res.Median.LoadS))
	res.MeetsTarget = res.PushOverSave <= targetRatio && res.PullOverLoad <= targetRatio

	res.Concurrent, err = concurrentPulls(ctx, tags[0], password, pulls)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// writeImage writes a docker-save tarball of an image FROM scratch with one
// layer: a file of mib MiB of random bytes. It returns how long gzip took
// over the layer (the tarball's layer is not compressed).
func writeImage(path, tag string, mib int) (v1.Image, float64, error) {
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	content := make([]byte, mib<<20)
	_, _ = rand.Read(content)
	if err := tw.WriteHeader(&tar.Header{Name: "blob", Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(0, 0)}); err != nil {
		return nil, 0, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, 0, err
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	var compressed bytes.Buffer
	zw := gzip.NewWriter(&compressed)
	if _, err := zw.Write(layerTar.Bytes()); err != nil {
		return nil, 0, err
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	gz := round3(time.Since(start).Seconds())
	// A compressed layer: go-containerregistry keeps it as it is.
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed.Bytes())), nil
	})
	if err != nil {
		return nil, 0, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, 0, err
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return nil, 0, err
	}
	return img, gz, tarball.WriteToFile(path, ref, img)
}

// pushAPI pushes img as tag through the registry API and says how long it took.
func pushAPI(ctx context.Context, img v1.Image, tag, password string) (float64, error) {
	ref, err := name.NewTag(tag, name.Insecure)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	err = remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "AWS", Password: password}), remote.WithContext(ctx))
	return round3(time.Since(start).Seconds()), err
}

// docker runs the docker CLI with its own config dir (where docker login
// keeps the registry's credential).
type docker struct{ config string }

func (d *docker) cmd(stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command("docker", append([]string{"--config", d.config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

func (d *docker) run(stdin string, args ...string) error {
	if out, err := d.cmd(stdin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (d *docker) output(args ...string) (string, error) {
	out, err := d.cmd("", args...).Output()
	return strings.TrimSpace(string(out)), err
}

func (d *docker) timed(args ...string) (float64, error) {
	start := time.Now()
	err := d.run("", args...)
	return round3(time.Since(start).Seconds()), err
}

// removeImages removes every name given, and so the image once no name is
// left; a name that is not there is no error.
func (d *docker) removeImages(names ...string) {
	for _, n := range names {
		_ = d.cmd("", "rmi", "--force", n).Run()
	}
}

// round pushes local under tag (a new tag each round, so that the registry
// gets the manifest afresh), pulls it with no local copy left, then saves
// and loads it through a file with no local copy left. It ends with the
// image named local again.
func (d *docker) round(local, file, tag string) (round, error) {
	var r round
	var err error
	steps := []func() error{
		func() error { return d.run("", "tag", local, tag) },
		func() error { r.PushS, err = d.timed("push", "--quiet", tag); return err },
		func() error { d.removeImages(tag, local); return nil },
		func() error { r.PullS, err = d.timed("pull", "--quiet", tag); return err },
		func() error { return d.run("", "tag", tag, local) },
		func() error { d.removeImages(tag); return nil },
		func() error { r.SaveS, err = d.timed("save", "-o", file, local); return err },
		func() error { d.removeImages(local); return nil },
		func() error { r.LoadS, err = d.timed("load", "--quiet", "-i", file); return err },
		func() error { return os.Remove(file) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// concurrentPulls pulls ref with n clients at once, each reading the
// manifest, the config and every layer to the end.
func concurrentPulls(ctx context.Context, ref, password string, n int) (concurrent, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return concurrent{}, err
	}
	auth := remote.WithAuth(&authn.Basic{Username: "AWS", Password: password})
	transport := remote.WithTransport(&http.Transport{MaxIdleConnsPerHost: n})
	var mu sync.Mutex
	var lat []float64
	var total int64
	var errs []error
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			bytes, err := pullOnce(ctx, r, auth, transport)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			total += bytes
			lat = append(lat, time.Since(t0).Seconds())
		}()
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	if err := errors.Join(errs...); err != nil {
		return concurrent{}, err
	}
	slices.Sort(lat)
	return concurrent{
		Clients: n, ImageMiB: round3(float64(total) / float64(n) / (1 << 20)), WallS: round3(wall),
		MiBPerSecond: round3(float64(total) / (1 << 20) / wall), PullsPerS: round3(float64(n) / wall),
		P50S: round3(percentile(lat, 0.50)), P99S: round3(percentile(lat, 0.99)), MaxS: round3(lat[len(lat)-1]),
	}, nil
}

func pullOnce(ctx context.Context, ref name.Reference, opts ...remote.Option) (int64, error) {
	img, err := remote.Image(ref, append(opts, remote.WithContext(ctx))...)
	if err != nil {
		return 0, err
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	total := int64(len(cfg))
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func median(rs []round, f func(round) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return round3(v[len(v)/2])
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
