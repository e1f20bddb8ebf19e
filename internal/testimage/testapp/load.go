package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// LoadReport is what `testapp load` prints.
type LoadReport struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50MS    float64 `json:"p50_ms"`
	P99MS    float64 `json:"p99_ms"`
}

// load sends N GETs to URL, CONCURRENCY at a time, with AUTHORIZATION as the
// Authorization header if given, and prints a LoadReport line.
func load(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("load N CONCURRENCY URL [AUTHORIZATION]")
	}
	n, err1 := strconv.Atoi(args[0])
	conc, err2 := strconv.Atoi(args[1])
	if err1 != nil || err2 != nil || n <= 0 || conc <= 0 {
		return fmt.Errorf("load: bad N or CONCURRENCY %q %q", args[0], args[1])
	}
	url, auth := args[2], ""
	if len(args) > 3 {
		auth = args[3]
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc}}
	lat := make([]time.Duration, n)
	errs := make([]bool, n)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= n {
					return
				}
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				lat[k], errs[k] = time.Since(t0), err != nil
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	r := LoadReport{Requests: n, Seconds: elapsed.Seconds(), RPS: float64(n) / elapsed.Seconds(),
		P50MS: ms(lat[n/2]), P99MS: ms(lat[min(n-1, n*99/100)])}
	for _, e := range errs {
		if e {
			r.Errors++
		}
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
