// Command s3 measures berth's S3 with aws-sdk-go-v2's S3 client: PUT and
// GET throughput of 1 KiB and 64 MiB objects through a control plane
// started in this process on a temporary data dir, beside writing the same
// bytes to a file on the same disk (write, sync, close: what a PUT does)
// and reading them back, in -rounds rounds. It prints one JSON object: per
// size the round of the median GET ratio (and the median PUT ratio).
//
//	go run ./bench/s3 -small 200 -large 5 -rounds 3
//
// The disk read is of a file just written, as berth's GET is of an object
// just put: both are served from the page cache. Both read in 256 KiB reads.
// The same files are also served by a bare net/http file server on
// loopback, the ceiling of any HTTP GET on the machine, and the GET is
// compared with it too.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/berth/berth/controlplane"
)

type measure struct {
	Size        int     `json:"size_bytes"`
	Count       int     `json:"count"`
	Rounds      int     `json:"rounds"`
	PutMBps     float64 `json:"put_mb_s"`
	GetMBps     float64 `json:"get_mb_s"`
	DiskWMBps   float64 `json:"disk_write_mb_s"`
	DiskRMBps   float64 `json:"disk_read_mb_s"`
	PutRatio    float64 `json:"put_ratio"`
	GetRatio    float64 `json:"get_ratio"`
	PutOpsPerS  float64 `json:"put_ops_s"`
	GetOpsPerS  float64 `json:"get_ops_s"`
	DiskWOpsPer float64 `json:"disk_write_ops_s"`
	DiskROpsPer float64 `json:"disk_read_ops_s"`
	// PlainGetMBps is the same files served by a bare net/http file
	// server on loopback (sendfile, no S3, no signing) and read by
	// net/http's client: what any HTTP GET on this machine can reach.
	PlainGetMBps float64 `json:"plain_http_get_mb_s"`
	GetVsPlain   float64 `json:"get_vs_plain_http_ratio"`
}

func main() {
	small := flag.Int("small", 200, "1 KiB objects to put and get")
	large := flag.Int("large", 5, "64 MiB objects to put and get")
	rounds := flag.Int("rounds", 3, "rounds, each measuring berth and the disk one after the other: the medians are printed")
	flag.Parse()
	if err := run(*small, *large, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "s3 bench:", err)
		os.Exit(1)
	}
}

func run(small, large, rounds int) error {
	dir, err := os.MkdirTemp("", "berth-bench-s3-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	cp, err := controlplane.Start(ctx, controlplane.Config{DataDir: filepath.Join(dir, "cp"), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		RegistryAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer cp.Shutdown(ctx)
	key := cp.AccessKey()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer hc.CloseIdleConnections()
	c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + cp.HTTPAddr()), UsePathStyle: true, HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		return err
	}
	var out []measure
	for _, m := range []struct{ size, count int }{{1 << 10, small}, {64 << 20, large}} {
		var runs []measure
		for round := range rounds {
			r, err := measureSize(ctx, c, filepath.Join(dir, fmt.Sprintf("disk%d", round)), m.size, m.count)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
		out = append(out, median(runs))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"results": out})
}

// drain reads r to its end in reads of len(buf), the same for the HTTP
// body and the file.
func drain(r io.Reader, buf []byte) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{r}, buf)
}

// median is the run of the median GET ratio, with the median PUT ratio.
func median(runs []measure) measure {
	sort.Slice(runs, func(i, j int) bool { return runs[i].GetRatio < runs[j].GetRatio })
	m := runs[len(runs)/2]
	puts := make([]float64, len(runs))
	for i, r := range runs {
		puts[i] = r.PutRatio
	}
	sort.Float64s(puts)
	m.PutRatio = puts[len(puts)/2]
	m.Rounds = len(runs)
	return m
}

func measureSize(ctx context.Context, c *s3.Client, diskDir string, size, count int) (measure, error) {
	data := make([]byte, size)
	rand.Read(data)
	if err := os.MkdirAll(diskDir, 0o700); err != nil {
		return measure{}, err
	}
	m := measure{Size: size, Count: count}
	total := float64(size) * float64(count) / 1e6

	buf := make([]byte, 256<<10)
	start := time.Now()
	for i := range count {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("%d/%d", size, i)),
			Body: bytes.NewReader(data)}); err != nil {
			return m, err
		}
	}
	put := time.Since(start).Seconds()
	start = time.Now()
	for i := range count {
		got, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("%d/%d", size, i))})
		if err != nil {
			return m, err
		}
		n, err := drain(got.Body, buf)
		got.Body.Close()
		if err != nil || n != int64(size) {
			return m, fmt.Errorf("get: %d bytes, %v", n, err)
		}
	}
	get := time.Since(start).Seconds()

	start = time.Now()
	for i := range count {
		f, err := os.Create(filepath.Join(diskDir, fmt.Sprintf("%d-%d", size, i)))
		if err != nil {
			return m, err
		}
		if _, err := f.Write(data); err != nil {
			return m, err
		}
		if err := f.Sync(); err != nil {
			return m, err
		}
		if err := f.Close(); err != nil {
			return m, err
		}
	}
	dw := time.Since(start).Seconds()
	start = time.Now()
	for i := range count {
		f, err := os.Open(filepath.Join(diskDir, fmt.Sprintf("%d-%d", size, i)))
		if err != nil {
			return m, err
		}
		if _, err := drain(f, buf); err != nil {
			return m, err
		}
		f.Close()
	}
	dr := time.Since(start).Seconds()

	plain, err := plainGet(diskDir, size, count, buf)
	if err != nil {
		return m, err
	}

	m.PutMBps, m.GetMBps, m.DiskWMBps, m.DiskRMBps = total/put, total/get, total/dw, total/dr
	m.PutOpsPerS, m.GetOpsPerS, m.DiskWOpsPer, m.DiskROpsPer = float64(count)/put, float64(count)/get, float64(count)/dw, float64(count)/dr
	m.PutRatio, m.GetRatio = m.PutMBps/m.DiskWMBps, m.GetMBps/m.DiskRMBps
	m.PlainGetMBps = total / plain
	m.GetVsPlain = m.GetMBps / m.PlainGetMBps
	return m, nil
}

// plainGet serves diskDir with http.FileServer on a loopback port and
// reads the count files of size back through net/http's client in reads
// of len(buf): the seconds it took.
func plainGet(diskDir string, size, count int, buf []byte) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(diskDir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer hc.CloseIdleConnections()
	start := time.Now()
	for i := range count {
		resp, err := hc.Get(fmt.Sprintf("http://%s/%d-%d", ln.Addr(), size, i))
		if err != nil {
			return 0, err
		}
		n, err := drain(resp.Body, buf)
		resp.Body.Close()
		if err != nil || n != int64(size) {
			return 0, fmt.Errorf("plain get: %s: %d bytes, %v", resp.Status, n, err)
		}
	}
	return time.Since(start).Seconds(), nil
}
