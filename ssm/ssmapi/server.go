package ssmapi

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
	"github.com/berth/berth/arn"
	"github.com/berth/berth/atrest"
	"github.com/berth/berth/ssm"
	"github.com/berth/berth/store"
)

// maxAttempts bounds the retries of a change that another change beat.
const maxAttempts = 16

// Server is berth.v1.SSM.
type Server struct {
	berthv1.UnimplementedSSMServer // every method is implemented below
	store                          *store.Store
	keys                           *atrest.Keyring
	arns                           arn.Namer
	now                            func() time.Time
}

// New serves SSM over st, sealing values with keys.
func New(st *store.Store, keys *atrest.Keyring, arns arn.Namer) *Server {
	return &Server{store: st, keys: keys, arns: arns, now: time.Now}
}

func (s *Server) at() float64 { return float64(s.now().UnixMilli()) / 1000 }

// user is the LastModifiedUser of a change: berth has one account, and
// every caller is its root user.
func (s *Server) user() string { return "arn:aws:iam::" + s.arns.Account + ":root" }

// aad binds a sealed value to its parameter and version.
func aad(name string, version int32) []byte {
	return []byte("ssm-parameter\x00" + name + "\x00" + strconv.Itoa(int(version)))
}

// update reads the parameter, lets change decide its next state and stores
// that if nobody changed it meanwhile, retrying otherwise.
func (s *Server) update(ctx context.Context, name string, change func(old *berthv1.ParameterRecord) (*berthv1.ParameterRecord, error)) (*berthv1.ParameterRecord, error) {
	for range maxAttempts {
		old, err := s.store.Parameter(name)
		if err != nil {
			return nil, err
		}
		next, err := change(old)
		if err != nil {
			return nil, err
		}
		stored, err := s.store.Apply(ctx, &berthv1.Command{At: s.at(), Change: &berthv1.Command_PutParameterRecord{
			PutParameterRecord: &berthv1.PutParameterRecordCommand{Record: next, ReplacesGeneration: old.GetGeneration()}}})
		if apierr.HasReason(err, store.ReasonStale) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return stored.(*berthv1.ParameterRecord), nil
	}
	e := apierr.New(apierr.FailedPrecondition, "", "There are concurrent updates for the resource %s that you're trying to modify. Try again later.", name)
	e.Exception = ssm.TooManyUpdates
	return nil, e
}

// PutParameter creates a parameter or, with Overwrite, a new version of it.
func (s *Server) PutParameter(ctx context.Context, req *berthv1.PutParameterRequest) (*berthv1.PutParameterResponse, error) {
	if err := ssm.CheckPut(req, s.arns.SSMParameterPrefix()); err != nil {
		return nil, err
	}
	at := s.at()
	p, err := s.update(ctx, req.GetName(), func(old *berthv1.ParameterRecord) (*berthv1.ParameterRecord, error) {
		ct, err := s.keys.Seal([]byte(req.GetValue()), aad(req.GetName(), ssm.NextVersion(old)))
		if err != nil {
			return nil, err
		}
		return ssm.ApplyPut(old, ssm.Put{Req: req, Ciphertext: ct, At: at, User: s.user()})
	})
	if err != nil {
		return nil, err
	}
	latest := ssm.Latest(p)
	return &berthv1.PutParameterResponse{Version: latest.GetVersion(), Tier: latest.GetTier()}, nil
}

// target is a parameter a request names: by name or ARN, with a version or
// label selector.
func (s *Server) target(field, given string) (ssm.Selector, *berthv1.ParameterRecord, error) {
	var candidates []string
	text := given
	if arn.IsARN(given) {
		rest, ok := strings.CutPrefix(given, s.arns.SSMParameterPrefix())
		if !ok {
			return ssm.Selector{}, nil, apierr.Field(field, "%s is not a parameter ARN of this account and region (%s...)", given, s.arns.SSMParameterPrefix())
		}
		text = "parameter/" + rest
	}
	sel, err := ssm.ParseSelector(field, text)
	if err != nil {
		return sel, nil, err
	}
	if arn.IsARN(given) {
		candidates = ssm.NamesOfARNResource(sel.Name)
	} else {
		candidates = []string{sel.Name}
	}
	for _, name := range candidates {
		p, err := s.store.Parameter(name)
		if err != nil {
			return sel, nil, err
		}
		if p != nil {
			sel.Name = name
			return sel, p, nil
		}
	}
	if len(candidates) > 0 {
		sel.Name = candidates[len(candidates)-1]
	}
	return sel, nil, ssm.NotFound(given)
}

// value is what a Get answers for version pv of p: the plaintext, or for a
// SecureString without WithDecryption the sealed value in base64 (as SSM
// answers its KMS ciphertext).
func (s *Server) value(p *berthv1.ParameterRecord, pv *berthv1.ParameterVersionRecord, decrypt bool) (string, error) {
	if pv.GetType() == ssm.TypeSecureString && !decrypt {
		return base64.StdEncoding.EncodeToString(pv.GetCiphertext()), nil
	}
	plain, err := s.keys.Decrypt(pv.GetCiphertext(), aad(p.GetName(), pv.GetVersion()))
	if err != nil {
		e := apierr.New(apierr.Internal, "", "parameter %s version %d: %v", p.GetName(), pv.GetVersion(), err)
		e.Exception = ssm.InternalServerError
		return "", e
	}
	return string(plain), nil
}

func (s *Server) parameter(p *berthv1.ParameterRecord, pv *berthv1.ParameterVersionRecord, sel ssm.Selector, decrypt bool) (*berthv1.SSMParameter, error) {
	v, err := s.value(p, pv, decrypt)
	if err != nil {
		return nil, err
	}
	return &berthv1.SSMParameter{
		Name: p.GetName(), Type: pv.GetType(), Value: v, Version: pv.GetVersion(), Selector: sel.Text,
		LastModifiedDate: pv.GetLastModifiedDate(), Arn: s.arns.SSMParameter(p.GetName()), DataType: pv.GetDataType(),
	}, nil
}

// GetParameter returns one parameter's value: its latest version, or the one
// a "name:version" or "name:label" selector names.
func (s *Server) GetParameter(_ context.Context, req *berthv1.GetParameterRequest) (*berthv1.GetParameterResponse, error) {
	if req.GetName() == "" {
		return nil, ssmInvalid("Name", "must have length greater than or equal to 1")
	}
	sel, p, err := s.target("Name", req.GetName())
	if err != nil {
		return nil, err
	}
	pv, err := ssm.Select(p, sel)
	if err != nil {
		return nil, err
	}
	out, err := s.parameter(p, pv, sel, req.GetWithDecryption())
	if err != nil {
		return nil, err
	}
	return &berthv1.GetParameterResponse{Parameter: out}, nil
}

// GetParameters returns up to 10 parameters; names that name nothing are
// listed as invalid, not failed.
func (s *Server) GetParameters(_ context.Context, req *berthv1.GetParametersRequest) (*berthv1.GetParametersResponse, error) {
	if n := len(req.GetNames()); n < 1 || n > 10 {
		return nil, ssmInvalid("Names", "must have 1 to 10 members (%d given)", n)
	}
	out := &berthv1.GetParametersResponse{}
	seen := map[string]bool{}
	for i, given := range req.GetNames() {
		if seen[given] {
			continue
		}
		seen[given] = true
		sel, p, err := s.target(fmt.Sprintf("Names[%d]", i), given)
		var pv *berthv1.ParameterVersionRecord
		if err == nil {
			pv, err = ssm.Select(p, sel)
		}
		if apierr.Is(err, apierr.NotFound) || apierr.Is(err, apierr.InvalidArgument) {
			out.InvalidParameters = append(out.InvalidParameters, given)
			continue
		}
		if err != nil {
			return nil, err
		}
		param, err := s.parameter(p, pv, sel, req.GetWithDecryption())
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, param)
	}
	return out, nil
}

func ssmInvalid(field, format string, args ...any) *apierr.Error {
	e := apierr.Field(field, format, args...)
	e.Exception = ssm.ValidationException
	return e
}

// maxResults checks MaxResults (0: def) against SSM's upper bound.
func maxResults(n, def, most int32) (int32, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 1 || n > most:
		return 0, ssmInvalid("MaxResults", "must be from 1 to %d (%d given)", most, n)
	}
	return n, nil
}

// Tokens: a name (or a version) to go on after, in base64.
func token(after string) string { return base64.RawURLEncoding.EncodeToString([]byte(after)) }

func untoken(t string) (string, error) {
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil || len(b) == 0 {
		e := apierr.New(apierr.InvalidArgument, "", "NextToken: The specified token isn't valid.")
		e.Field, e.Exception = "NextToken", ssm.InvalidNextToken
		return "", e
	}
	return string(b), nil
}

// GetParametersByPath returns the parameters under a path (one level, or
// every level with Recursive), in name order, a page at a time.
func (s *Server) GetParametersByPath(_ context.Context, req *berthv1.GetParametersByPathRequest) (*berthv1.GetParametersByPathResponse, error) {
	if err := ssm.CheckPath("Path", req.GetPath()); err != nil {
		return nil, err
	}
	filters, err := ssm.CheckFilters(req.GetParameterFilters(), nil, true)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(req.GetMaxResults(), 10, 10)
	if err != nil {
		return nil, err
	}
	after, err := untoken(req.GetNextToken())
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(req.GetPath(), "/") + "/"
	out := &berthv1.GetParametersByPathResponse{}
	var last string
	var failed error
	err = s.store.Parameters(prefix, after, func(p *berthv1.ParameterRecord) bool {
		pv := ssm.Latest(p)
		if !ssm.InPath(p.GetName(), req.GetPath(), req.GetRecursive()) || !ssm.Match(p, pv, filters) {
			return true
		}
		if int32(len(out.Parameters)) == limit {
			out.NextToken = token(last)
			return false
		}
		param, err := s.parameter(p, pv, ssm.Selector{}, req.GetWithDecryption())
		if err != nil {
			failed = err
			return false
		}
		out.Parameters = append(out.Parameters, param)
		last = p.GetName()
		return true
	})
	if err == nil {
		err = failed
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Server) metadata(p *berthv1.ParameterRecord) *berthv1.SSMParameterMetadata {
	pv := ssm.Latest(p)
	return &berthv1.SSMParameterMetadata{
		Name: p.GetName(), Arn: s.arns.SSMParameter(p.GetName()), Type: pv.GetType(), KeyId: pv.GetKeyId(),
		LastModifiedDate: pv.GetLastModifiedDate(), LastModifiedUser: pv.GetLastModifiedUser(),
		Description: pv.GetDescription(), AllowedPattern: pv.GetAllowedPattern(), Version: pv.GetVersion(),
		Tier: pv.GetTier(), DataType: pv.GetDataType(), Policies: []*berthv1.SSMParameterInlinePolicy{},
	}
}

// DescribeParameters lists parameters' metadata (never their values), in
// name order, a page at a time.
func (s *Server) DescribeParameters(_ context.Context, req *berthv1.DescribeParametersRequest) (*berthv1.DescribeParametersResponse, error) {
	filters, err := ssm.CheckFilters(req.GetParameterFilters(), req.GetFilters(), false)
	if err != nil {
		return nil, err
	}
	limit, err := maxResults(req.GetMaxResults(), 50, 50)
	if err != nil {
		return nil, err
	}
	after, err := untoken(req.GetNextToken())
	if err != nil {
		return nil, err
	}
	out := &berthv1.DescribeParametersResponse{}
	if req.GetShared() {
		return out, nil // berth has one account: nothing is shared with it
	}
	var last string
	err = s.store.Parameters("", after, func(p *berthv1.ParameterRecord) bool {
		if !ssm.Match(p, ssm.Latest(p), filters) {
			return true
		}
		if int32(len(out.Parameters)) == limit {
			out.NextToken = token(last)
			return false
		}
		out.Parameters = append(out.Parameters, s.metadata(p))
		last = p.GetName()
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetParameterHistory lists every version a parameter keeps, oldest first.
func (s *Server) GetParameterHistory(_ context.Context, req *berthv1.GetParameterHistoryRequest) (*berthv1.GetParameterHistoryResponse, error) {
	if req.GetName() == "" {
		return nil, ssmInvalid("Name", "must have length greater than or equal to 1")
	}
	limit, err := maxResults(req.GetMaxResults(), 50, 50)
	if err != nil {
		return nil, err
	}
	afterText, err := untoken(req.GetNextToken())
	if err != nil {
		return nil, err
	}
	after, _ := strconv.Atoi(afterText)
	sel, p, err := s.target("Name", req.GetName())
	if err != nil {
		return nil, err
	}
	if sel.Text != "" {
		return nil, ssmInvalid("Name", "GetParameterHistory takes a parameter name without a version or label selector")
	}
	out := &berthv1.GetParameterHistoryResponse{}
	for _, pv := range p.GetVersions() {
		if int(pv.GetVersion()) <= after {
			continue
		}
		if int32(len(out.Parameters)) == limit {
			out.NextToken = token(strconv.Itoa(int(out.Parameters[len(out.Parameters)-1].GetVersion())))
			break
		}
		v, err := s.value(p, pv, req.GetWithDecryption())
		if err != nil {
			return nil, err
		}
		out.Parameters = append(out.Parameters, &berthv1.SSMParameterHistory{
			Name: p.GetName(), Type: pv.GetType(), KeyId: pv.GetKeyId(), LastModifiedDate: pv.GetLastModifiedDate(),
			LastModifiedUser: pv.GetLastModifiedUser(), Description: pv.GetDescription(), Value: v,
			AllowedPattern: pv.GetAllowedPattern(), Version: pv.GetVersion(), Labels: pv.GetLabels(), Tier: pv.GetTier(),
			DataType: pv.GetDataType(), Policies: []*berthv1.SSMParameterInlinePolicy{},
		})
	}
	return out, nil
}

// DeleteParameter deletes a parameter with every version.
func (s *Server) DeleteParameter(ctx context.Context, req *berthv1.DeleteParameterRequest) (*berthv1.DeleteParameterResponse, error) {
	if req.GetName() == "" {
		return nil, ssmInvalid("Name", "must have length greater than or equal to 1")
	}
	res, err := s.store.Apply(ctx, &berthv1.Command{At: s.at(), Change: &berthv1.Command_DeleteParameterRecords{
		DeleteParameterRecords: &berthv1.DeleteParameterRecordsCommand{Names: []string{req.GetName()}}}})
	if err != nil {
		return nil, err
	}
	if len(res.(*berthv1.DeleteParameterRecordsResult).GetDeleted()) == 0 {
		return nil, ssm.NotFound(req.GetName())
	}
	return &berthv1.DeleteParameterResponse{}, nil
}

// DeleteParameters deletes up to 10 parameters; names that name nothing are
// listed as invalid.
func (s *Server) DeleteParameters(ctx context.Context, req *berthv1.DeleteParametersRequest) (*berthv1.DeleteParametersResponse, error) {
	if n := len(req.GetNames()); n < 1 || n > 10 {
		return nil, ssmInvalid("Names", "must have 1 to 10 members (%d given)", n)
	}
	res, err := s.store.Apply(ctx, &berthv1.Command{At: s.at(), Change: &berthv1.Command_DeleteParameterRecords{
		DeleteParameterRecords: &berthv1.DeleteParameterRecordsCommand{Names: req.GetNames()}}})
	if err != nil {
		return nil, err
	}
	deleted := res.(*berthv1.DeleteParameterRecordsResult).GetDeleted()
	out := &berthv1.DeleteParametersResponse{DeletedParameters: deleted}
	gone := map[string]bool{}
	for _, n := range deleted {
		gone[n] = true
	}
	for _, n := range req.GetNames() {
		if !gone[n] {
			out.InvalidParameters = append(out.InvalidParameters, n)
			gone[n] = true
		}
	}
	return out, nil
}

func checkLabels(labels []string) error {
	if n := len(labels); n < 1 || n > 10 {
		return ssmInvalid("Labels", "must have 1 to 10 members (%d given)", n)
	}
	return nil
}

// LabelParameterVersion puts labels on a version (the latest by default),
// moving each from the version that had it.
func (s *Server) LabelParameterVersion(ctx context.Context, req *berthv1.LabelParameterVersionRequest) (*berthv1.LabelParameterVersionResponse, error) {
	if err := checkLabels(req.GetLabels()); err != nil {
		return nil, err
	}
	if req.ParameterVersion != nil && req.GetParameterVersion() < 1 {
		return nil, ssmInvalid("ParameterVersion", "must be a version number from 1")
	}
	sel, _, err := s.target("Name", req.GetName())
	if err != nil {
		return nil, err
	}
	if sel.Text != "" {
		return nil, ssmInvalid("Name", "give the version in ParameterVersion, not as a selector")
	}
	out := &berthv1.LabelParameterVersionResponse{}
	_, err = s.update(ctx, sel.Name, func(old *berthv1.ParameterRecord) (*berthv1.ParameterRecord, error) {
		if old == nil {
			return nil, ssm.NotFound(req.GetName())
		}
		next, v, invalid, err := ssm.ApplyLabels(old, req.GetParameterVersion(), req.GetLabels())
		out.ParameterVersion, out.InvalidLabels = v, invalid
		return next, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UnlabelParameterVersion removes labels from a version.
func (s *Server) UnlabelParameterVersion(ctx context.Context, req *berthv1.UnlabelParameterVersionRequest) (*berthv1.UnlabelParameterVersionResponse, error) {
	if err := checkLabels(req.GetLabels()); err != nil {
		return nil, err
	}
	if req.GetParameterVersion() < 1 {
		return nil, ssmInvalid("ParameterVersion", "must be a version number from 1")
	}
	sel, _, err := s.target("Name", req.GetName())
	if err != nil {
		return nil, err
	}
	out := &berthv1.UnlabelParameterVersionResponse{}
	_, err = s.update(ctx, sel.Name, func(old *berthv1.ParameterRecord) (*berthv1.ParameterRecord, error) {
		if old == nil {
			return nil, ssm.NotFound(req.GetName())
		}
		next, removed, invalid, err := ssm.RemoveLabels(old, req.GetParameterVersion(), req.GetLabels())
		out.RemovedLabels, out.InvalidLabels = removed, invalid
		return next, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
