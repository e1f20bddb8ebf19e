package store

import (
	"encoding/binary"
	"strconv"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	berthv1 "github.com/berth/berth/api/proto/berth/v1"
	"github.com/berth/berth/apierr"
)

// bucketEventLog holds berth's event log: EventBridge-shaped events (an
// image pushed, ...) keyed by their sequence, big-endian. It is one of the
// openBuckets: new and empty when made, so made at Open without a
// migration.
var bucketEventLog = []byte("event-log")

// KindEventLog is an event appended to the event log; its Key is the
// sequence in decimal and its Value the *berthv1.EventLogRecord.
const KindEventLog Kind = "eventlog"

// MaxEventLog is how many events the log keeps: appending one more drops
// the oldest.
const MaxEventLog = 10000

// maxEventLog is MaxEventLog, smaller in tests.
var maxEventLog uint64 = MaxEventLog

// ReasonEventLogInvalid refuses an event without its source or detail-type.
const ReasonEventLogInvalid = "EventLogInvalid"

func eventLogKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// appendEventLog numbers the event, stores it, and drops what falls beyond
// MaxEventLog (silently: watchers see the appends only).
func appendEventLog(c *change, cmd *berthv1.AppendEventLogCommand) (proto.Message, error) {
	ev := proto.Clone(cmd.GetEvent()).(*berthv1.EventLogRecord)
	if ev.GetSource() == "" || ev.GetDetailType() == "" {
		return nil, refused(apierr.InvalidArgument, ReasonEventLogInvalid, "an event needs a source and a detail-type")
	}
	b := c.tx.Bucket(bucketEventLog)
	seq, err := b.NextSequence()
	if err != nil {
		return nil, err
	}
	ev.Sequence = seq
	if ev.Time == 0 {
		ev.Time = c.at
	}
	key := eventLogKey(seq)
	if err := put(c.tx, bucketEventLog, key, ev); err != nil {
		return nil, err
	}
	c.events = append(c.events, Event{Revision: c.revision, Kind: KindEventLog, Key: strconv.FormatUint(seq, 10), Value: ev})
	if seq > maxEventLog {
		keep := eventLogKey(seq - maxEventLog + 1)
		cur := b.Cursor()
		for k, _ := cur.First(); k != nil && string(k) < string(keep); k, _ = cur.First() {
			if err := cur.Delete(); err != nil {
				return nil, err
			}
		}
	}
	return ev, nil
}

// EventLog returns up to limit events of the log after sequence after, in
// order (after 0: from the oldest kept).
func (s *Store) EventLog(after uint64, limit int) ([]*berthv1.EventLogRecord, error) {
	var out []*berthv1.EventLogRecord
	err := s.view(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketEventLog).Cursor()
		for k, v := cur.Seek(eventLogKey(after + 1)); k != nil && len(out) < limit; k, v = cur.Next() {
			ev := &berthv1.EventLogRecord{}
			if err := proto.Unmarshal(v, ev); err != nil {
				return err
			}
			out = append(out, ev)
		}
		return nil
	})
	return out, err
}
