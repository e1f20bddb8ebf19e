package controlplane

import (
	"context"
	"log/slog"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ecr/ecrapi"
	"github.com/berth/berth/ecr/registry"
	"github.com/berth/berth/store"
)

// RegistryKeyFile is the data dir's file of the key that signs the
// registry's passwords (made at first start, mode 0600).
const RegistryKeyFile = "registry.key"

// startECR starts the image registry on its own address and makes the ECR
// API over it (registered on gRPC and the front door by Start).
func (c *ControlPlane) startECR(ctx context.Context, cfg Config) error {
	key, err := loadOrCreateToken(cfg.DataDir, RegistryKeyFile)
	if err != nil {
		return err
	}
	addr := cfg.RegistryAddr
	if addr == "" {
		addr = registry.DefaultAddr
	}
	c.registry, err = registry.Start(ctx, registry.Config{
		DataDir: cfg.DataDir, Addr: addr, Key: []byte(key), RegistryID: cfg.ARNs.Account,
		Repositories: c.store, MaxBlob: cfg.RegistryMaxBlob, Logger: cfg.Logger,
		TLSCertFile: cfg.RegistryTLSCert, TLSKeyFile: cfg.RegistryTLSKey,
		OnPush: func(ctx context.Context, repository, tag, digest string) {
			cfg.Logger.Info("image pushed", slog.String("repository", repository), slog.String("tag", tag), slog.String("digest", digest))
			now := time.Now()
			ev := ecrapi.ImagePushedEvent(cfg.ARNs, repository, tag, digest, now)
			if _, err := c.store.Apply(ctx, &berthv1.Command{At: float64(now.UnixNano()) / 1e9,
				Change: &berthv1.Command_AppendEventLog{AppendEventLog: &berthv1.AppendEventLogCommand{Event: ev}}}); err != nil {
				cfg.Logger.Warn("image pushed: the event log", slog.String("repository", repository), slog.String("digest", digest), slog.Any("err", err))
			}
		},
	})
	if err != nil {
		return err
	}
	c.gc = registry.NewCollector(c.registry, cfg.Logger)
	if cfg.RegistryGrace > 0 {
		c.gc.Grace = cfg.RegistryGrace
	}
	c.ecr = ecrapi.New(ecrapi.Config{
		Store: c.store, Registry: c.registry, ARNs: cfg.ARNs, Key: []byte(key),
		ProxyEndpoint: c.registry.URL(), Collect: c.gc.Request, Logger: cfg.Logger,
	})
	return nil
}

// RegistryAddr is the address the image registry listens on.
func (c *ControlPlane) RegistryAddr() string { return c.registry.Addr() }

// ECR is the ECR API's server.
func (c *ControlPlane) ECR() *ecrapi.Server { return c.ecr }

// Store is the control plane's store (its watch and its event log).
func (c *ControlPlane) Store() *store.Store { return c.store }
