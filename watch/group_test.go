package watch

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/leader-elector/leader-elector/internal/shardgroup"
)

// shardLease is shard i of an m-shard group, labelled as elect labels it.
func shardLease(group string, i, m int, holder string, renew time.Time) *coordinationv1.Lease {
	l := lease("ns", shardgroup.ShardLease(group, i), holder, t0, renew, 15)
	l.Labels = shardgroup.ShardLabels(group, i, m)
	l.Annotations = map[string]string{shardgroup.GroupAnnotation: group}
	return l
}

// memberLease is identity's member Lease of group.
func memberLease(group, identity string, renew time.Time) *coordinationv1.Lease {
	l := lease("ns", shardgroup.MemberLease(group, identity), identity, t0, renew, 15)
	l.Labels = shardgroup.MemberLabels(group)
	l.Annotations = map[string]string{shardgroup.GroupAnnotation: group}
	return l
}

// TestModelNamesTheGroup: every event of a group's Lease carries its group,
// from the first (added) to the last (deleted), and a Lease that leaves
// the group (its labels change) stops naming it, with an updated event.
func TestModelNamesTheGroup(t *testing.T) {
	type want struct {
		typ    EventType
		group  string
		member bool
		shard  int32
		shards int32
	}
	notGroup := lease("ns", "myapp-shard-1", "pod-a", t0, t0, 15) // a name alone makes no shard
	notGroup.Labels = map[string]string{"app": "x"}
	badLabel := shardLease("myapp", 2, 8, "pod-a", t0)
	badLabel.Labels[shardgroup.GroupLabel] = "other" // label and annotation disagree
	tests := []struct {
		name  string
		steps []*coordinationv1.Lease
		want  []want
	}{
		{"shard added, renewed, taken over",
			[]*coordinationv1.Lease{
				shardLease("myapp", 3, 8, "pod-a", t0),
				shardLease("myapp", 3, 8, "pod-a", t0.Add(2*time.Second)),
				shardLease("myapp", 3, 8, "pod-b", t0.Add(4*time.Second)),
			},
			[]want{
				{EventAdded, "myapp", false, 3, 8},
				{EventRenewed, "myapp", false, 3, 8},
				{EventTransition, "myapp", false, 3, 8},
			}},
		{"shard 0 is a shard", []*coordinationv1.Lease{shardLease("myapp", 0, 1, "pod-a", t0)},
			[]want{{EventAdded, "myapp", false, 0, 1}}},
		{"member added and renewed",
			[]*coordinationv1.Lease{memberLease("myapp", "pod-c", t0), memberLease("myapp", "pod-c", t0.Add(5*time.Second))},
			[]want{{EventAdded, "myapp", true, 0, 0}, {EventRenewed, "myapp", true, 0, 0}}},
		{"ordinary Lease named like a shard", []*coordinationv1.Lease{notGroup}, []want{{EventAdded, "", false, 0, 0}}},
		{"label and annotation disagree", []*coordinationv1.Lease{badLabel}, []want{{EventAdded, "", false, 0, 0}}},
		{"a shard's labels removed",
			[]*coordinationv1.Lease{shardLease("myapp", 1, 4, "pod-a", t0), lease("ns", "myapp-shard-1", "pod-a", t0, t0, 15)},
			[]want{{EventAdded, "myapp", false, 1, 4}, {EventUpdated, "", false, 0, 0}}},
		{"the group grows from 4 to 8 shards",
			[]*coordinationv1.Lease{shardLease("myapp", 1, 4, "pod-a", t0), shardLease("myapp", 1, 8, "pod-a", t0)},
			[]want{{EventAdded, "myapp", false, 1, 4}, {EventUpdated, "myapp", false, 1, 8}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewModel(0, 3, time.Minute)
			var evs []Event
			for i, l := range tc.steps {
				evs = m.Apply(evs, l, t0.Add(time.Duration(i)*2*time.Second))
			}
			if len(evs) != len(tc.want) {
				t.Fatalf("%d events, want %d: %v", len(evs), len(tc.want), evs)
			}
			for i, w := range tc.want {
				l := &evs[i].Lease
				got := want{evs[i].Type, l.Group, l.Member, l.Shard, l.Shards}
				if got != w {
					t.Errorf("event %d = %+v, want %+v", i, got, w)
				}
			}
			last := tc.steps[len(tc.steps)-1]
			del := m.Delete(nil, last.Namespace, last.Name, t0.Add(time.Minute))
			if len(del) != 1 || del[0].Lease.Group != tc.want[len(tc.want)-1].group {
				t.Errorf("deleted event %+v does not name the group %q", del, tc.want[len(tc.want)-1].group)
			}
		})
	}
}

// TestGroupJSON: a group's events name it in the lease object, right after
// the name; an ordinary Lease's line has none of the new fields. A reader
// gets the same state back.
func TestGroupJSON(t *testing.T) {
	tests := []struct {
		name    string
		state   func(*LeaseState)
		want    string // after `"name":"lock"`
		wantNot []string
	}{
		{"shard", func(s *LeaseState) { s.Group, s.Shard, s.Shards = "myapp", 3, 8 },
			`,"group":"myapp","shard":3,"shards":8,"holder":`, []string{`"member"`}},
		{"shard 0", func(s *LeaseState) { s.Group, s.Shard, s.Shards = "myapp", 0, 8 },
			`,"group":"myapp","shard":0,"shards":8,"holder":`, []string{`"member"`}},
		{"member", func(s *LeaseState) { s.Group, s.Member = "myapp", true },
			`,"group":"myapp","member":true,"holder":`, []string{`"shard"`, `"shards"`}},
		{"ordinary", func(*LeaseState) {}, `,"holder":`, []string{`"group"`, `"shard"`, `"member"`}},
		{"hostile group name", func(s *LeaseState) { s.Group, s.Member = "a\x1b[2J", true },
			`,"group":"a\u001b[2J","member":true,`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := sampleEvent()
			tc.state(&ev.Lease)
			line := string(ev.AppendJSON(nil))
			if !strings.Contains(line, `"name":"lock"`+tc.want) {
				t.Errorf("line lacks %s:\n%s", tc.want, line)
			}
			for _, no := range tc.wantNot {
				if strings.Contains(line, no) {
					t.Errorf("line holds %s:\n%s", no, line)
				}
			}
			if !json.Valid([]byte(line)) {
				t.Fatalf("not JSON: %s", line)
			}
			var back Event
			if err := back.UnmarshalJSON([]byte(line)); err != nil {
				t.Fatal(err)
			}
			g, w := back.Lease, ev.Lease
			if g.Group != w.Group || g.Member != w.Member || g.Shard != w.Shard || g.Shards != w.Shards {
				t.Errorf("read back %q %v %d/%d, want %q %v %d/%d", g.Group, g.Member, g.Shard, g.Shards, w.Group, w.Member, w.Shard, w.Shards)
			}
		})
	}
}
