package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
)

// change is the context of one command being applied: its transaction, the
// revision it will have if it changes anything, its time, and the events it
// produced.
type change struct {
	tx       *bolt.Tx
	revision uint64
	at       float64
	events   []Event
	strs     *interner // the store's, for the records this change stores (nil: none)
}

// put stores m under bucket/key and records the event for watchers.
func (c *change) put(kind Kind, bucket, key []byte, m proto.Message) error {
	if err := put(c.tx, bucket, key, m); err != nil {
		return err
	}
	c.events = append(c.events, Event{Revision: c.revision, Kind: kind, Key: string(key), Value: m})
	return nil
}

// delete removes bucket/key and records the event; last is the object as it
// was, for watchers.
func (c *change) delete(kind Kind, bucket, key []byte, last proto.Message) error {
	if err := c.tx.Bucket(bucket).Delete(key); err != nil {
		return err
	}
	c.events = append(c.events, Event{Revision: c.revision, Kind: kind, Key: string(key), Value: last, Deleted: true})
	return nil
}

// apply is the one function that changes state. Each case checks every
// precondition before its first write, so a rejected command (an
// *apierr.Error) has written nothing; any other error aborts the transaction.
func apply(c *change, cmd *berthv1.Command) (proto.Message, error) {
	switch ch := cmd.GetChange().(type) {
	case *berthv1.Command_WriteDocuments:
		return writeDocuments(c, ch.WriteDocuments)
	case *berthv1.Command_PutParameterRecord:
		return putParameterRecord(c, ch.PutParameterRecord)
	case *berthv1.Command_DeleteParameterRecords:
		return deleteParameterRecords(c, ch.DeleteParameterRecords)
	case *berthv1.Command_PutSecretRecord:
		return putSecretRecord(c, ch.PutSecretRecord)
	case *berthv1.Command_DeleteSecretRecord:
		return deleteSecretRecord(c, ch.DeleteSecretRecord)
	case *berthv1.Command_RegisterTaskDefinition:
		return registerTaskDefinition(c, ch.RegisterTaskDefinition)
	case *berthv1.Command_DeregisterTaskDefinition:
		return deregisterTaskDefinition(c, ch.DeregisterTaskDefinition)
	case *berthv1.Command_CreateCluster:
		return createCluster(c, ch.CreateCluster)
	case *berthv1.Command_DeleteCluster:
		return deleteCluster(c, ch.DeleteCluster)
	case *berthv1.Command_RegisterContainerInstance:
		return registerContainerInstance(c, ch.RegisterContainerInstance)
	case *berthv1.Command_SetAgentConnected:
		return setAgentConnected(c, ch.SetAgentConnected)
	case *berthv1.Command_UpdateContainerInstancesState:
		return updateContainerInstancesState(c, ch.UpdateContainerInstancesState)
	case *berthv1.Command_DeregisterContainerInstance:
		return deregisterContainerInstance(c, ch.DeregisterContainerInstance)
	case *berthv1.Command_PutAttributes:
		return putAttributes(c, ch.PutAttributes)
	case *berthv1.Command_PlaceTasks:
		return placeTasks(c, ch.PlaceTasks)
	case *berthv1.Command_StopTasks:
		return stopTasks(c, ch.StopTasks)
	case *berthv1.Command_UpdateTaskStates:
		return updateTaskStates(c, ch.UpdateTaskStates)
	case *berthv1.Command_PutService:
		return putService(c, ch.PutService)
	case *berthv1.Command_ProvisionTasks:
		return provisionTasks(c, ch.ProvisionTasks)
	case *berthv1.Command_AssignTasks:
		return assignTasks(c, ch.AssignTasks)
	case *berthv1.Command_CreateCapacityProvider:
		return createCapacityProvider(c, ch.CreateCapacityProvider)
	case *berthv1.Command_PutClusterCapacityProviders:
		return putClusterCapacityProviders(c, ch.PutClusterCapacityProviders)
	case *berthv1.Command_TagResource:
		return tagResource(c, ch.TagResource)
	case *berthv1.Command_PutAccountSetting:
		return putAccountSetting(c, ch.PutAccountSetting)
	case *berthv1.Command_DeleteAccountSetting:
		return deleteAccountSetting(c, ch.DeleteAccountSetting)
	case *berthv1.Command_DeleteTaskDefinitions:
		return deleteTaskDefinitions(c, ch.DeleteTaskDefinitions)
	case *berthv1.Command_UpdateCluster:
		return updateCluster(c, ch.UpdateCluster)
	case *berthv1.Command_DeleteAttributes:
		return deleteAttributes(c, ch.DeleteAttributes)
	case *berthv1.Command_DeleteCapacityProvider:
		return deleteCapacityProvider(c, ch.DeleteCapacityProvider)
	case *berthv1.Command_UpdateCapacityProvider:
		return updateCapacityProvider(c, ch.UpdateCapacityProvider)
	case *berthv1.Command_UpdateTaskProtection:
		return updateTaskProtection(c, ch.UpdateTaskProtection)
	case *berthv1.Command_CreateEcrRepository:
		return createECRRepository(c, ch.CreateEcrRepository)
	case *berthv1.Command_UpdateEcrRepository:
		return updateECRRepository(c, ch.UpdateEcrRepository)
	case *berthv1.Command_DeleteEcrRepository:
		return deleteECRRepository(c, ch.DeleteEcrRepository)
	case *berthv1.Command_AppendEventLog:
		return appendEventLog(c, ch.AppendEventLog)
	default:
		return nil, fmt.Errorf("store: unknown command %T", ch)
	}
}
