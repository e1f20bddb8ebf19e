package ssmapi

import (
	"context"
	"errors"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/ssm"
)

// Resolve is the value of the parameter a task definition's secret names in
// valueFrom: a name or an ARN of this account and region, with an optional
// ":version" or ":label", decrypted. A missing parameter is a NotFound
// *apierr.Error (ParameterNotFound) naming it; the value never appears in an
// error.
func (s *Server) Resolve(_ context.Context, nameOrARN string) (string, error) {
	sel, p, err := s.target("valueFrom", nameOrARN)
	if err != nil {
		return "", err
	}
	pv, err := ssm.Select(p, sel)
	if err != nil {
		return "", err
	}
	return s.value(p, pv, true)
}

// ReencryptAll seals every stored value that an older key sealed anew with
// the primary key (atrest.Reencrypter), parameter by parameter.
func (s *Server) ReencryptAll(ctx context.Context) (int, error) {
	var stale []string
	err := s.store.Parameters("", "", func(p *berthv1.ParameterRecord) bool {
		for _, pv := range p.GetVersions() {
			if s.keys.Stale(pv.GetCiphertext()) {
				stale = append(stale, p.GetName())
				break
			}
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, name := range stale {
		n := 0
		_, err := s.update(ctx, name, func(old *berthv1.ParameterRecord) (*berthv1.ParameterRecord, error) {
			n = 0
			if old == nil {
				return nil, errGone
			}
			for _, pv := range old.Versions {
				if !s.keys.Stale(pv.GetCiphertext()) {
					continue
				}
				ct, err := s.keys.Reencrypt(pv.GetCiphertext(), aad(old.GetName(), pv.GetVersion()))
				if err != nil {
					return nil, err
				}
				pv.Ciphertext = ct
				n++
			}
			return old, nil
		})
		if errors.Is(err, errGone) {
			continue // deleted meanwhile
		}
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// errGone: a parameter deleted while it was being re-encrypted.
var errGone = errors.New("parameter deleted meanwhile")
