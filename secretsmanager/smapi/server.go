package smapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/atrest"
	sm "github.com/berth/berth/secretsmanager"
	"github.com/berth/berth/store"
)

// maxAttempts bounds the retries of a change that another change beat.
const maxAttempts = 16

// Server is berth.v1.SecretsManager.
type Server struct {
	berthv1.UnimplementedSecretsManagerServer // every method is implemented below
	store                                     *store.Store
	keys                                      *atrest.Keyring
	arns                                      arn.Namer
	now                                       func() time.Time
}

// New serves Secrets Manager over st, sealing values with keys.
func New(st *store.Store, keys *atrest.Keyring, arns arn.Namer) *Server {
	return &Server{store: st, keys: keys, arns: arns, now: time.Now}
}

func (s *Server) at() float64 { return float64(s.now().UnixMilli()) / 1000 }

// aad binds a sealed value to its secret and version.
func aad(name, versionID string) []byte {
	return []byte("secret\x00" + name + "\x00" + versionID)
}

const suffixChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newSuffix is the random 6 characters of a new secret's ARN.
func newSuffix() string {
	b := make([]byte, sm.SuffixLength)
	rand.Read(b)
	for i := range b {
		b[i] = suffixChars[int(b[i])%len(suffixChars)]
	}
	return string(b)
}

// newVersionID is a random UUID (version 4), as Secrets Manager's own ids.
func newVersionID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Server) arnOf(r *berthv1.SecretRecord) string {
	return s.arns.Secret(r.GetName(), r.GetArnSuffix())
}

// find is the secret a SecretId names; a secret past its recovery window
// is gone.
func (s *Server) find(id string) (*berthv1.SecretRecord, error) {
	sid, err := sm.ParseSecretID("SecretId", id, s.arns.SecretPrefix())
	if err != nil {
		return nil, err
	}
	r, err := s.store.Secret(sid.Name)
	if err == nil && r == nil && sid.ARN && sid.Suffix != "" {
		// A name that itself ends in -XXXXXX, named by a partial ARN.
		r, err = s.store.Secret(sid.Name + "-" + sid.Suffix)
		sid.Suffix = ""
	}
	if err != nil {
		return nil, err
	}
	if r == nil || (sid.Suffix != "" && r.GetArnSuffix() != sid.Suffix) || sm.Expired(r, s.at()) {
		return nil, sm.NotFound()
	}
	return r, nil
}

// update finds the secret, lets change decide its next state and stores it
// if nobody changed it meanwhile, retrying otherwise.
func (s *Server) update(ctx context.Context, id string, change func(old *berthv1.SecretRecord) (*berthv1.SecretRecord, error)) (*berthv1.SecretRecord, error) {
	for range maxAttempts {
		old, err := s.find(id)
		if err != nil {
			return nil, err
		}
		next, err := change(old)
		if err != nil || next == old {
			return next, err
		}
		stored, err := s.put(ctx, next, old.GetGeneration())
		if apierr.HasReason(err, store.ReasonStale) {
			continue
		}
		return stored, err
	}
	return nil, tooBusy()
}

func tooBusy() error {
	e := apierr.New(apierr.FailedPrecondition, store.ReasonStale, "The secret changed under concurrent updates; try again.")
	e.Exception = sm.InternalServiceError
	return e
}

func (s *Server) put(ctx context.Context, r *berthv1.SecretRecord, replaces uint64) (*berthv1.SecretRecord, error) {
	res, err := s.store.Apply(ctx, &berthv1.Command{At: s.at(), Change: &berthv1.Command_PutSecretRecord{
		PutSecretRecord: &berthv1.PutSecretRecordCommand{Record: r, ReplacesGeneration: replaces}}})
	if err != nil {
		return nil, err
	}
	return res.(*berthv1.SecretRecord), nil
}

// value is a request's SecretString or SecretBinary as bytes, and which.
func value(str *string, bin []byte) ([]byte, bool) {
	if str != nil {
		return []byte(*str), false
	}
	return bin, true
}

// newVersion seals a value as version id of secret name.
func (s *Server) newVersion(name, id string, plain []byte, binary bool, at float64) (*berthv1.SecretVersionRecord, error) {
	ct, err := s.keys.Seal(plain, aad(name, id))
	if err != nil {
		return nil, err
	}
	return &berthv1.SecretVersionRecord{VersionId: id, Ciphertext: ct, Binary: binary, CreatedDate: at}, nil
}

// sameValue reports whether version v holds plain (an idempotent retry of
// the request that made it).
func (s *Server) sameValue(r *berthv1.SecretRecord, v *berthv1.SecretVersionRecord, plain []byte, binary bool) (bool, error) {
	have, err := s.open(r, v)
	if err != nil {
		return false, err
	}
	defer clear(have)
	return v.GetBinary() == binary && bytes.Equal(have, plain), nil
}

func (s *Server) open(r *berthv1.SecretRecord, v *berthv1.SecretVersionRecord) ([]byte, error) {
	plain, err := s.keys.Decrypt(v.GetCiphertext(), aad(r.GetName(), v.GetVersionId()))
	if err != nil {
		e := apierr.New(apierr.Internal, "", "Secrets Manager can't decrypt the protected secret text using the provided KMS key (secret %s, version %s: %v)", r.GetName(), v.GetVersionId(), err)
		e.Exception = sm.DecryptionFailure
		return nil, e
	}
	return plain, nil
}

func versionExists() error {
	e := apierr.New(apierr.AlreadyExists, "", "You can't modify an existing version, you can only create a new version.")
	e.Exception = sm.ResourceExistsException
	return e
}

// CreateSecret creates a secret, with a first version (AWSCURRENT) when a
// value is given.
func (s *Server) CreateSecret(ctx context.Context, req *berthv1.CreateSecretRequest) (*berthv1.CreateSecretResponse, error) {
	if err := sm.CheckName(req.GetName()); err != nil {
		return nil, err
	}
	if err := firstError(sm.CheckValue(req.SecretString, req.GetSecretBinary(), false), sm.CheckToken(req.GetClientRequestToken()),
		sm.CheckDescription(req.GetDescription()), sm.CheckKmsKeyID(req.GetKmsKeyId()), checkTags(req.GetTags())); err != nil {
		return nil, err
	}
	plain, binary := value(req.SecretString, req.GetSecretBinary())
	hasValue := req.SecretString != nil || len(req.GetSecretBinary()) > 0
	for range maxAttempts {
		old, err := s.store.Secret(req.GetName())
		if err != nil {
			return nil, err
		}
		at := s.at()
		if old != nil && !sm.Expired(old, at) {
			if sm.Deleted(old) {
				e := apierr.New(apierr.FailedPrecondition, "", "You can't create this secret because a secret with this name is already scheduled for deletion.")
				e.Exception = sm.InvalidRequestException
				return nil, e
			}
			if v := sm.Version(old, req.GetClientRequestToken()); v != nil && hasValue {
				if same, err := s.sameValue(old, v, plain, binary); err != nil || !same {
					return nil, firstError(err, versionExists())
				}
				return &berthv1.CreateSecretResponse{Arn: s.arnOf(old), Name: old.GetName(), VersionId: v.GetVersionId()}, nil
			}
			e := apierr.New(apierr.AlreadyExists, "", "The operation failed because the secret %s already exists.", req.GetName())
			e.Exception = sm.ResourceExistsException
			return nil, e
		}
		r := &berthv1.SecretRecord{
			Name: req.GetName(), ArnSuffix: newSuffix(), Description: req.GetDescription(), KmsKeyId: req.GetKmsKeyId(),
			Tags: req.GetTags(), CreatedDate: at, LastChangedDate: at,
		}
		id := ""
		if hasValue {
			id = req.GetClientRequestToken()
			if id == "" {
				id = newVersionID()
			}
			v, err := s.newVersion(r.Name, id, plain, binary, at)
			if err != nil {
				return nil, err
			}
			if r, err = sm.AddVersion(r, v, nil); err != nil {
				return nil, err
			}
		}
		stored, err := s.put(ctx, r, old.GetGeneration())
		if apierr.HasReason(err, store.ReasonStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &berthv1.CreateSecretResponse{Arn: s.arnOf(stored), Name: stored.GetName(), VersionId: id}, nil
	}
	return nil, tooBusy()
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func checkTags(tags []*berthv1.SecretsManagerTag) error {
	if len(tags) > 50 {
		return sm.Param("Tags", "at most 50 tags")
	}
	for i, t := range tags {
		if len(t.GetKey()) < 1 || len(t.GetKey()) > 128 {
			return sm.Param("Tags", "tag %d: the key must be 1 to 128 characters", i)
		}
		if len(t.GetValue()) > 256 {
			return sm.Param("Tags", "tag %d: the value must be at most 256 characters", i)
		}
	}
	return nil
}

// GetSecretValue returns a version's value: AWSCURRENT's, or the one
// VersionId or VersionStage names (both: they must name the same version).
func (s *Server) GetSecretValue(_ context.Context, req *berthv1.GetSecretValueRequest) (*berthv1.GetSecretValueResponse, error) {
	r, err := s.find(req.GetSecretId())
	if err != nil {
		return nil, err
	}
	if sm.Deleted(r) {
		return nil, sm.MarkedForDeletion("GetSecretValue")
	}
	v, err := selectVersion(r, req.GetVersionId(), req.GetVersionStage())
	if err != nil {
		return nil, err
	}
	plain, err := s.open(r, v)
	if err != nil {
		return nil, err
	}
	out := &berthv1.GetSecretValueResponse{Arn: s.arnOf(r), Name: r.GetName(), VersionId: v.GetVersionId(),
		VersionStages: v.GetStages(), CreatedDate: v.GetCreatedDate()}
	if v.GetBinary() {
		out.SecretBinary = plain
	} else {
		str := string(plain)
		out.SecretString = &str
	}
	return out, nil
}

func selectVersion(r *berthv1.SecretRecord, id, stage string) (*berthv1.SecretVersionRecord, error) {
	if id != "" {
		v := sm.Version(r, id)
		if v == nil || (stage != "" && sm.Staged(r, stage) != v) {
			e := apierr.New(apierr.NotFound, "", "Secrets Manager can't find the specified secret value for VersionId: %s", id)
			e.Exception = sm.ResourceNotFoundException
			return nil, e
		}
		return v, nil
	}
	if stage == "" {
		stage = sm.Current
	}
	v := sm.Staged(r, stage)
	if v == nil {
		e := apierr.New(apierr.NotFound, "", "Secrets Manager can't find the specified secret value for staging label: %s", stage)
		e.Exception = sm.ResourceNotFoundException
		return nil, e
	}
	return v, nil
}

// addValue is a new version of the secret id names, with stages; a retry
// with the same ClientRequestToken and value changes nothing.
func (s *Server) addValue(ctx context.Context, op, id, token string, str *string, bin []byte, stages []string) (*berthv1.SecretRecord, *berthv1.SecretVersionRecord, error) {
	plain, binary := value(str, bin)
	if token == "" {
		token = newVersionID()
	}
	var made *berthv1.SecretVersionRecord
	r, err := s.update(ctx, id, func(old *berthv1.SecretRecord) (*berthv1.SecretRecord, error) {
		if sm.Deleted(old) {
			return nil, sm.MarkedForDeletion(op)
		}
		if v := sm.Version(old, token); v != nil {
			if same, err := s.sameValue(old, v, plain, binary); err != nil || !same {
				return nil, firstError(err, versionExists())
			}
			made = v
			return old, nil
		}
		at := s.at()
		v, err := s.newVersion(old.GetName(), token, plain, binary, at)
		if err != nil {
			return nil, err
		}
		next, err := sm.AddVersion(old, v, stages)
		if err != nil {
			return nil, err
		}
		made = sm.Version(next, token)
		return next, nil
	})
	return r, made, err
}

// PutSecretValue stores a new version; its stages (AWSCURRENT by default)
// move to it, and AWSCURRENT's old version becomes AWSPREVIOUS.
func (s *Server) PutSecretValue(ctx context.Context, req *berthv1.PutSecretValueRequest) (*berthv1.PutSecretValueResponse, error) {
	if err := firstError(sm.CheckValue(req.SecretString, req.GetSecretBinary(), true), sm.CheckToken(req.GetClientRequestToken()),
		sm.CheckStages(req.GetVersionStages())); err != nil {
		return nil, err
	}
	r, v, err := s.addValue(ctx, "PutSecretValue", req.GetSecretId(), req.GetClientRequestToken(), req.SecretString, req.GetSecretBinary(), req.GetVersionStages())
	if err != nil {
		return nil, err
	}
	return &berthv1.PutSecretValueResponse{Arn: s.arnOf(r), Name: r.GetName(), VersionId: v.GetVersionId(), VersionStages: v.GetStages()}, nil
}

// UpdateSecret changes a secret's description or KMS key id, and with a
// value stores a new AWSCURRENT version.
func (s *Server) UpdateSecret(ctx context.Context, req *berthv1.UpdateSecretRequest) (*berthv1.UpdateSecretResponse, error) {
	if err := firstError(sm.CheckValue(req.SecretString, req.GetSecretBinary(), false), sm.CheckToken(req.GetClientRequestToken()),
		sm.CheckDescription(req.GetDescription()), sm.CheckKmsKeyID(req.GetKmsKeyId())); err != nil {
		return nil, err
	}
	r, err := s.update(ctx, req.GetSecretId(), func(old *berthv1.SecretRecord) (*berthv1.SecretRecord, error) {
		if sm.Deleted(old) {
			return nil, sm.MarkedForDeletion("UpdateSecret")
		}
		if req.Description == nil && req.KmsKeyId == nil {
			return old, nil
		}
		next := cloneSecret(old)
		if req.Description != nil {
			next.Description = req.GetDescription()
		}
		if req.KmsKeyId != nil {
			next.KmsKeyId = req.GetKmsKeyId()
		}
		next.LastChangedDate = s.at()
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	out := &berthv1.UpdateSecretResponse{Arn: s.arnOf(r), Name: r.GetName()}
	if req.SecretString != nil || len(req.GetSecretBinary()) > 0 {
		_, v, err := s.addValue(ctx, "UpdateSecret", s.arnOf(r), req.GetClientRequestToken(), req.SecretString, req.GetSecretBinary(), nil)
		if err != nil {
			return nil, err
		}
		out.VersionId = v.GetVersionId()
	}
	return out, nil
}

func stagesMap(r *berthv1.SecretRecord) map[string]*structpb.ListValue {
	out := map[string]*structpb.ListValue{}
	for id, stages := range sm.VersionStagesMap(r) {
		l := &structpb.ListValue{}
		for _, st := range stages {
			l.Values = append(l.Values, structpb.NewStringValue(st))
		}
		out[id] = l
	}
	return out
}

// DescribeSecret returns a secret's details, never its value.
func (s *Server) DescribeSecret(_ context.Context, req *berthv1.DescribeSecretRequest) (*berthv1.DescribeSecretResponse, error) {
	r, err := s.find(req.GetSecretId())
	if err != nil {
		return nil, err
	}
	return &berthv1.DescribeSecretResponse{
		Arn: s.arnOf(r), Name: r.GetName(), Description: r.GetDescription(), KmsKeyId: r.GetKmsKeyId(),
		LastChangedDate: r.GetLastChangedDate(), LastAccessedDate: r.GetLastAccessedDate(), DeletedDate: r.GetDeletedDate(),
		Tags: r.GetTags(), VersionIdsToStages: stagesMap(r), CreatedDate: r.GetCreatedDate(), PrimaryRegion: s.arns.Region,
	}, nil
}

// DeleteSecret schedules a secret's deletion after its recovery window, or
// with ForceDeleteWithoutRecovery deletes it now.
func (s *Server) DeleteSecret(ctx context.Context, req *berthv1.DeleteSecretRequest) (*berthv1.DeleteSecretResponse, error) {
	for range maxAttempts {
		old, err := s.find(req.GetSecretId())
		if err != nil {
			return nil, err
		}
		at := s.at()
		next, purge, err := sm.Delete(old, req.RecoveryWindowInDays, req.GetForceDeleteWithoutRecovery(), at)
		if err != nil {
			return nil, err
		}
		out := &berthv1.DeleteSecretResponse{Arn: s.arnOf(old), Name: old.GetName()}
		if purge {
			_, err = s.store.Apply(ctx, &berthv1.Command{At: at, Change: &berthv1.Command_DeleteSecretRecord{
				DeleteSecretRecord: &berthv1.DeleteSecretRecordCommand{Name: old.GetName(), ReplacesGeneration: old.GetGeneration()}}})
			out.DeletionDate = at
		} else {
			_, err = s.put(ctx, next, old.GetGeneration())
			out.DeletionDate = next.GetDeletionDate()
		}
		if apierr.HasReason(err, store.ReasonStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, tooBusy()
}

// RestoreSecret cancels a scheduled deletion.
func (s *Server) RestoreSecret(ctx context.Context, req *berthv1.RestoreSecretRequest) (*berthv1.RestoreSecretResponse, error) {
	r, err := s.update(ctx, req.GetSecretId(), func(old *berthv1.SecretRecord) (*berthv1.SecretRecord, error) {
		if !sm.Deleted(old) {
			return old, nil
		}
		return sm.Restore(old, s.at()), nil
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.RestoreSecretResponse{Arn: s.arnOf(r), Name: r.GetName()}, nil
}

// UpdateSecretVersionStage moves a stage between versions.
func (s *Server) UpdateSecretVersionStage(ctx context.Context, req *berthv1.UpdateSecretVersionStageRequest) (*berthv1.UpdateSecretVersionStageResponse, error) {
	r, err := s.update(ctx, req.GetSecretId(), func(old *berthv1.SecretRecord) (*berthv1.SecretRecord, error) {
		if sm.Deleted(old) {
			return nil, sm.MarkedForDeletion("UpdateSecretVersionStage")
		}
		return sm.UpdateVersionStage(old, req.GetVersionStage(), req.GetRemoveFromVersionId(), req.GetMoveToVersionId(), s.at())
	})
	if err != nil {
		return nil, err
	}
	return &berthv1.UpdateSecretVersionStageResponse{Arn: s.arnOf(r), Name: r.GetName()}, nil
}
