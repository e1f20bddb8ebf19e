package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// bucketAccountSettings holds every principal's account settings (since
// schema version 5).
var bucketAccountSettings = []byte("account-settings")

// KindAccountSetting is an event about one principal's account setting.
const KindAccountSetting Kind = "accountsetting"

// accountSettingKey is principalArn 0x00 name: a principal's settings sort
// together.
func accountSettingKey(principal, name string) []byte {
	k := make([]byte, 0, len(principal)+1+len(name))
	k = append(k, principal...)
	k = append(k, 0)
	return append(k, name...)
}

// putAccountSetting stores one principal's setting, replacing the one of
// that name.
func putAccountSetting(c *change, cmd *berthv1.PutAccountSettingCommand) (proto.Message, error) {
	st := proto.Clone(cmd.GetSetting()).(*berthv1.Setting)
	key := accountSettingKey(st.GetPrincipalArn(), st.GetName())
	if err := c.put(KindAccountSetting, bucketAccountSettings, key, st); err != nil {
		return nil, err
	}
	return st, nil
}

// deleteAccountSetting removes one principal's setting of a name and returns
// it, or an empty Setting when there was none (and changes nothing).
func deleteAccountSetting(c *change, cmd *berthv1.DeleteAccountSettingCommand) (proto.Message, error) {
	key := accountSettingKey(cmd.GetPrincipalArn(), cmd.GetName())
	st := &berthv1.Setting{}
	found, err := get(c.tx, bucketAccountSettings, key, st)
	if err != nil || !found {
		return &berthv1.Setting{}, err
	}
	if err := c.delete(KindAccountSetting, bucketAccountSettings, key, st); err != nil {
		return nil, err
	}
	return st, nil
}

// AccountSettings returns the settings stored for principal, in name order,
// or every principal's when principal is "".
func (s *Store) AccountSettings(principal string) ([]*berthv1.Setting, error) {
	var out []*berthv1.Setting
	var prefix []byte
	if principal != "" {
		prefix = append([]byte(principal), 0)
	}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAccountSettings).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			st := &berthv1.Setting{}
			if err := proto.Unmarshal(v, st); err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}
