package atrest

import (
	"context"
	"sync"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// Server is berth.v1.EncryptionKeys: key rotation on berth's own API.
type Server struct {
	berthv1.UnimplementedEncryptionKeysServer
	keys     *Keyring
	services []Reencrypter
	mu       sync.Mutex // one rotation at a time
}

// NewServer serves rotation of k over the services that store values it
// seals.
func NewServer(k *Keyring, services ...Reencrypter) *Server {
	return &Server{keys: k, services: services}
}

// RotateEncryptionKey rotates the key (see Rotate).
func (s *Server) RotateEncryptionKey(ctx context.Context, _ *berthv1.RotateEncryptionKeyRequest) (*berthv1.RotateEncryptionKeyResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, n, err := Rotate(ctx, s.keys, s.services...)
	if err != nil {
		return nil, err
	}
	return &berthv1.RotateEncryptionKeyResponse{KeyId: id, Reencrypted: int32(n)}, nil
}
