package smapi

import (
	"context"
	"log/slog"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	sm "github.com/berth/berth/secretsmanager"
	"github.com/berth/berth/store"
)

// PurgeEvery is how often Run removes secrets whose recovery window ended.
// (Until then such a secret is already gone to every operation.)
const PurgeEvery = time.Hour

// Run purges expired secrets at start and every PurgeEvery until ctx ends.
func (s *Server) Run(ctx context.Context, log *slog.Logger) error {
	t := time.NewTicker(PurgeEvery)
	defer t.Stop()
	for {
		if n, err := s.Purge(ctx); err != nil && ctx.Err() == nil {
			log.Warn("secrets manager: purging deleted secrets", "err", err)
		} else if n > 0 {
			log.Info("secrets manager: purged secrets past their recovery window", "secrets", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Purge removes the secrets whose recovery window has ended, and says how
// many.
func (s *Server) Purge(ctx context.Context) (int, error) {
	at := s.at()
	var expired []*berthv1.SecretRecord
	if err := s.store.Secrets(func(r *berthv1.SecretRecord) bool {
		if sm.Expired(r, at) {
			expired = append(expired, r)
		}
		return true
	}); err != nil {
		return 0, err
	}
	n := 0
	for _, r := range expired {
		_, err := s.store.Apply(ctx, &berthv1.Command{At: at, Change: &berthv1.Command_DeleteSecretRecord{
			DeleteSecretRecord: &berthv1.DeleteSecretRecordCommand{Name: r.GetName(), ReplacesGeneration: r.GetGeneration()}}})
		if apierr.HasReason(err, store.ReasonStale) {
			continue // restored or replaced meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ReencryptAll seals every stored value that an older key sealed anew with
// the primary key (atrest.Reencrypter), secret by secret.
func (s *Server) ReencryptAll(ctx context.Context) (int, error) {
	var stale []*berthv1.SecretRecord
	if err := s.store.Secrets(func(r *berthv1.SecretRecord) bool {
		for _, v := range r.GetVersions() {
			if s.keys.Stale(v.GetCiphertext()) {
				stale = append(stale, r)
				break
			}
		}
		return true
	}); err != nil {
		return 0, err
	}
	total := 0
	for _, r := range stale {
		for attempt := 0; ; attempt++ {
			cur, err := s.store.Secret(r.GetName())
			if err != nil {
				return total, err
			}
			if cur == nil {
				break
			}
			n := 0
			for _, v := range cur.Versions {
				if !s.keys.Stale(v.GetCiphertext()) {
					continue
				}
				ct, err := s.keys.Reencrypt(v.GetCiphertext(), aad(cur.GetName(), v.GetVersionId()))
				if err != nil {
					return total, err
				}
				v.Ciphertext = ct
				n++
			}
			_, err = s.put(ctx, cur, cur.GetGeneration())
			if apierr.HasReason(err, store.ReasonStale) && attempt < maxAttempts {
				continue
			}
			if err != nil {
				return total, err
			}
			total += n
			break
		}
	}
	return total, nil
}

// Resolve is the value a task definition's secret names in valueFrom
// (arn:aws:secretsmanager:...:secret:NAME-XXXXXX[:json-key:version-stage:version-id]):
// the secret's AWSCURRENT value, or the stage's or version's, or one key of
// its JSON. Errors name the secret and the key, never the value.
func (s *Server) Resolve(ctx context.Context, valueFrom string) (string, error) {
	ref, err := sm.ParseReference(valueFrom)
	if err != nil {
		return "", err
	}
	out, err := s.GetSecretValue(ctx, &berthv1.GetSecretValueRequest{SecretId: ref.SecretID, VersionId: ref.VersionID, VersionStage: ref.VersionStage})
	if err != nil {
		return "", err
	}
	text := out.GetSecretString()
	if out.SecretString == nil {
		text = string(out.GetSecretBinary())
	}
	if ref.JSONKey == "" {
		return text, nil
	}
	return sm.JSONValue(text, ref.JSONKey)
}
