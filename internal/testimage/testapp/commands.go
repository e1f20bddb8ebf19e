package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	units "github.com/docker/go-units"
)

func sleep(args []string) error {
	if len(args) == 0 {
		sleepForever()
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return err
	}
	time.Sleep(d)
	return nil
}

func exit(args []string) error {
	if len(args) == 0 {
		return errors.New("exit: want CODE [DURATION]")
	}
	code, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	if len(args) > 1 {
		if err := sleep(args[1:]); err != nil {
			return err
		}
	}
	os.Exit(code)
	return nil
}

func serve(args []string) error {
	if len(args) != 1 {
		return errors.New("serve: want ADDR")
	}
	host, _ := os.Hostname() // the container's: tells a load balancer's targets apart
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Testapp-Host", host)
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: args[0], ReadHeaderTimeout: 5 * time.Second}
	return srv.ListenAndServe()
}

func alloc(args []string) error {
	if len(args) != 1 {
		return errors.New("alloc: want SIZE")
	}
	n, err := units.RAMInBytes(args[0])
	if err != nil {
		return err
	}
	buf := make([]byte, n)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	fmt.Printf("allocated %d bytes\n", len(buf))
	sleepForever()
	return nil
}

// sleepForever blocks until a signal ends the process. (An empty select would be
// reported as a deadlock by the runtime.)
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}

func trapSIGTERM(args []string) error {
	if len(args) != 1 {
		return errors.New("trap-sigterm: want DURATION")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	if err := os.WriteFile(TrappedFile, nil, 0o644); err != nil {
		return err
	}
	fmt.Println("waiting for SIGTERM")
	<-sig
	fmt.Println("SIGTERM received")
	time.Sleep(d)
	return nil
}

func health(args []string) error {
	if len(args) != 1 {
		return errors.New("health: want URL")
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(args[0])
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s", resp.Status)
	}
	return nil
}

func lines(args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return errors.New("lines: want N [INTERVAL]")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	var every time.Duration
	if len(args) == 2 {
		if every, err = time.ParseDuration(args[1]); err != nil {
			return err
		}
	}
	for i := 1; i <= n; i++ {
		if i > 1 {
			time.Sleep(every)
		}
		fmt.Printf("line %d\n", i)
	}
	sleepForever()
	return nil
}

func exists(args []string) error {
	if len(args) != 1 {
		return errors.New("exists: want PATH")
	}
	_, err := os.Stat(args[0])
	return err
}
