package store

import (
	"testing"

	bolt "go.etcd.io/bbolt"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

const testRoot = "arn:aws:iam::000000000000:root"

func putSettingCmd(principal, name, value string) *berthv1.Command {
	return &berthv1.Command{At: 10, Change: &berthv1.Command_PutAccountSetting{PutAccountSetting: &berthv1.PutAccountSettingCommand{
		Setting: &berthv1.Setting{Name: name, Value: value, PrincipalArn: principal, Type: "user"},
	}}}
}

func TestAccountSettings(t *testing.T) {
	s, _ := openTemp(t)
	user := "arn:aws:iam::000000000000:user/ana"
	mustApply(t, s, putSettingCmd(testRoot, "containerInsights", "enabled"))
	mustApply(t, s, putSettingCmd(user, "containerInsights", "disabled"))
	mustApply(t, s, putSettingCmd(user, "awsvpcTrunking", "enabled"))
	mustApply(t, s, putSettingCmd(user, "awsvpcTrunking", "disabled")) // replaces

	got, err := s.AccountSettings(user)
	if err != nil || len(got) != 2 || got[0].Name != "awsvpcTrunking" || got[0].Value != "disabled" {
		t.Fatalf("the user's settings: %v, %v", got, err)
	}
	if all, _ := s.AccountSettings(""); len(all) != 3 {
		t.Fatalf("every setting: %v", all)
	}

	del := func(principal, name string) *berthv1.Setting {
		return mustApply(t, s, &berthv1.Command{At: 11, Change: &berthv1.Command_DeleteAccountSetting{
			DeleteAccountSetting: &berthv1.DeleteAccountSettingCommand{PrincipalArn: principal, Name: name}}}).(*berthv1.Setting)
	}
	if st := del(user, "awsvpcTrunking"); st.Value != "disabled" {
		t.Fatalf("deleted %v", st)
	}
	if st := del(user, "awsvpcTrunking"); st.Name != "" {
		t.Fatalf("deleting again returned %v", st)
	}
	if got, _ := s.AccountSettings(user); len(got) != 1 {
		t.Fatalf("after the delete: %v", got)
	}
}

// A file of schema version 4 gets the account-settings bucket, and keeps
// what it had.
func TestAccountSettingsMigration(t *testing.T) {
	s, path := openTemp(t)
	register(t, s, "web")
	s.Close()

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketAccountSettings); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keySchema, u32(4))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v uint32
	s.view(func(tx *bolt.Tx) error { v = schemaVersion(tx); return nil })
	if v != 5 {
		t.Fatalf("schema version %d after the migration", v)
	}
	if _, err := s.TaskDefinition("web", 1); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, putSettingCmd(testRoot, "containerInsights", "enabled"))
	if got, _ := s.AccountSettings(testRoot); len(got) != 1 {
		t.Fatalf("settings after the migration: %v", got)
	}
}

func TestDeleteTaskDefinitions(t *testing.T) {
	s, _ := openTemp(t)
	register(t, s, "web")
	register(t, s, "web")
	deregister(t, s, "web", 1)
	res := mustApply(t, s, &berthv1.Command{At: 20, Change: &berthv1.Command_DeleteTaskDefinitions{
		DeleteTaskDefinitions: &berthv1.DeleteTaskDefinitionsCommand{Revisions: []*berthv1.TaskDefinitionRevision{
			{Family: "web", Revision: 1}, {Family: "web", Revision: 2}, {Family: "web", Revision: 9},
		}},
	}}).(*berthv1.DeleteTaskDefinitionsResult)
	if len(res.Deleted) != 1 || res.Deleted[0].TaskDefinition.Status != StatusDeleteInProgress {
		t.Fatalf("deleted %v", res.Deleted)
	}
	if len(res.Failures) != 2 || res.Failures[0].Reason != ReasonTaskDefinitionActive || res.Failures[1].Reason != ReasonTaskDefinitionMissing {
		t.Fatalf("failures %v", res.Failures)
	}
	rec, err := s.TaskDefinition("web", 1)
	if err != nil || rec.TaskDefinition.Status != StatusDeleteInProgress {
		t.Fatalf("web:1 after the delete: %v, %v", rec, err)
	}
	deregister(t, s, "web", 1) // deregistering it again changes nothing
	if rec, _ := s.TaskDefinition("web", 1); rec.TaskDefinition.Status != StatusDeleteInProgress {
		t.Fatalf("web:1 after a deregister: %s", rec.TaskDefinition.Status)
	}
	if rec, _ := s.TaskDefinition("web", 0); rec.TaskDefinition.Revision != 2 {
		t.Fatalf("latest ACTIVE: %d", rec.TaskDefinition.Revision)
	}
}
