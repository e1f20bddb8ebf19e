// Package registry is berth's image registry: the OCI / Docker Registry HTTP
// API v2 of distribution (github.com/distribution/distribution/v3, the
// registry Docker Hub and most registries run), with its blobs and manifests
// on disk under the data dir, behind ECR's authentication, on its own
// address (127.0.0.1:7481 by default).
//
// What berth adds in front of distribution's handlers (gate.go): every
// request needs HTTP Basic auth as AWS with a password from
// GetAuthorizationToken (ecr/token; nothing anonymous, an expired or forged
// password is 401); a repository must have been created with the ECR API
// before anything is pushed to it (NAME_UNKNOWN, as ECR); an IMMUTABLE
// repository refuses to move a tag (TAG_INVALID); a blob upload over the size
// limit is refused; a pushed image is announced (OnPush).
//
// The registry's storage is the source of truth for images (which manifests,
// which tags, when pushed); the store keeps the repositories. images.go
// reads and changes the images for the ECR API, gc.go removes what no image
// references any more. The package knows nothing of ECR's wire shapes.
package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/distribution/distribution/v3"
	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/distribution/distribution/v3/registry/storage"
	"github.com/distribution/distribution/v3/registry/storage/driver"
	"github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	"github.com/docker/go-events"
	"github.com/sirupsen/logrus"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// DefaultAddr is the registry's default address.
const DefaultAddr = "127.0.0.1:7481"

// Dir is the registry's directory in the data dir.
const Dir = "registry"

// Repositories finds the repositories the ECR API created (the store).
type Repositories interface {
	// ECRRepository returns the repository of name, or ok false.
	ECRRepository(name string) (rec *berthv1.EcrRepositoryRecord, ok bool, err error)
}

// Config is what the registry needs.
type Config struct {
	// DataDir is the control plane's data dir; the registry keeps its
	// storage in DataDir/registry.
	DataDir string
	// Addr is the address to listen on (DefaultAddr when empty; port 0
	// picks a free port).
	Addr string
	// Key signs and checks passwords (ecr/token).
	Key []byte
	// RegistryID is the account's id, named in errors as ECR names it.
	RegistryID string
	// Repositories are the repositories images may be pushed to.
	Repositories Repositories
	// MaxBlob bounds the bytes of one blob upload request; 0: no bound.
	MaxBlob int64
	// TLSCertFile and TLSKeyFile, when both set, make the registry serve
	// HTTPS with that certificate. Without them it serves plain HTTP, which
	// Docker accepts only from a registry on loopback (127.0.0.0/8 is an
	// insecure registry to every daemon), so Start refuses an address
	// beyond loopback without TLS.
	TLSCertFile, TLSKeyFile string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger logs what the registry does.
	Logger *slog.Logger
	// OnPush, if set, is called after a manifest was stored under a tag
	// (tag "" for a push by digest), before the push's response ends; ctx
	// is the request's, without its cancellation.
	OnPush func(ctx context.Context, repository, tag, digest string)
}

// Registry is a running registry.
type Registry struct {
	cfg    Config
	app    *handlers.App
	driver driver.StorageDriver
	ns     distribution.Namespace
	lis    net.Listener
	srv    *http.Server
	served chan error

	// writes is held (read-locked) by every request that writes to the
	// storage and by the ECR API's changes; the garbage collector takes it
	// alone, so that it never sweeps under a write.
	writes sync.RWMutex
}

// Start opens the storage and serves the registry until Close.
func Start(ctx context.Context, cfg Config) (*Registry, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := checkTLS(cfg); err != nil {
		return nil, err
	}
	root := filepath.Join(cfg.DataDir, Dir)
	r := &Registry{cfg: cfg, served: make(chan error, 1)}
	r.driver = filesystem.New(filesystem.DriverParameters{RootDirectory: root, MaxThreads: 100})
	var err error
	r.ns, err = storage.NewRegistry(ctx, r.driver, storage.EnableDelete)
	if err != nil {
		return nil, fmt.Errorf("registry storage: %w", err)
	}
	app, err := newApp(ctx, root, cfg.Key)
	if err != nil {
		return nil, err
	}
	r.app = app
	if r.lis, err = net.Listen("tcp", cfg.Addr); err != nil {
		app.Shutdown()
		return nil, fmt.Errorf("registry address: %w", err)
	}
	r.srv = &http.Server{Handler: r.gate(app), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		var err error
		if r.TLS() {
			err = r.srv.ServeTLS(r.lis, cfg.TLSCertFile, cfg.TLSKeyFile)
		} else {
			err = r.srv.Serve(r.lis)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.served <- err
	}()
	return r, nil
}

// newApp is distribution's registry over the filesystem at root: deletes
// on, no redirects, no upload purger of its own (gc.go purges), and an
// upload secret derived from key so that an upload survives a restart.
func newApp(ctx context.Context, root string, key []byte) (app *handlers.App, err error) {
	secret := hmac.New(sha256.New, key)
	secret.Write([]byte("registry upload state"))
	cfg := &configuration.Configuration{
		Storage: configuration.Storage{
			"filesystem":  configuration.Parameters{"rootdirectory": root},
			"delete":      configuration.Parameters{"enabled": true},
			"redirect":    configuration.Parameters{"disable": true},
			"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		},
	}
	cfg.HTTP.Secret = hex.EncodeToString(secret.Sum(nil))
	// distribution logs through logrus's standard logger: every start at
	// info, and every refused request (a tag not found, a blob a push checks
	// for) at error. Clients get those errors in their responses; berth logs
	// what it acts on itself (slog).
	logrus.SetLevel(logrus.FatalLevel)
	// NewApp panics on a configuration it cannot use.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("registry: %v", p)
		}
	}()
	return handlers.NewApp(ctx, cfg), nil
}

// Addr is the address the registry listens on.
func (r *Registry) Addr() string { return r.lis.Addr().String() }

// TLS says whether the registry serves HTTPS.
func (r *Registry) TLS() bool { return r.cfg.TLSCertFile != "" }

// URL is the registry's base URL: http:// or https:// and its address.
func (r *Registry) URL() string {
	if r.TLS() {
		return "https://" + r.Addr()
	}
	return "http://" + r.Addr()
}

// checkTLS refuses half a TLS configuration, a certificate that does not
// load, and plain HTTP on an address beyond loopback.
func checkTLS(cfg Config) error {
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return errors.New("registry TLS: give both the certificate and the key file, or neither")
	}
	if cfg.TLSCertFile != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return fmt.Errorf("registry TLS: %w", err)
		}
		return nil
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("registry address %q: %w", cfg.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("registry address %q is beyond loopback: Docker pulls from a registry there only over TLS; "+
			"give the registry a certificate and key (--registry-tls-cert, --registry-tls-key) or listen on 127.0.0.1", cfg.Addr)
	}
	return nil
}

// Close stops serving (in-flight requests finish until ctx ends).
func (r *Registry) Close(ctx context.Context) error {
	err := r.srv.Shutdown(ctx)
	if err != nil {
		r.srv.Close()
	}
	err = errors.Join(err, <-r.served)
	return errors.Join(err, closeEvents(r.app), r.app.Shutdown())
}

// closeEvents closes the App's event broadcaster, whose goroutine
// distribution starts in NewApp and never stops (App.Shutdown leaves it):
// the App keeps it in an unexported field, reached here by reflection. A
// distribution release that renames the field makes this an error, which
// the tests' leak check would see too.
func closeEvents(app *handlers.App) error {
	f := reflect.ValueOf(app).Elem().FieldByName("events")
	if f.IsValid() {
		f = f.FieldByName("sink")
	}
	if !f.IsValid() || !f.CanAddr() {
		return errors.New("registry: distribution's App has no events.sink to close")
	}
	sink, ok := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(events.Sink)
	if !ok || sink == nil {
		return errors.New("registry: distribution's events.sink is not an events.Sink")
	}
	return sink.Close()
}
