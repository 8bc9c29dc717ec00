package shardgroup

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestNamesAreValidAndReadBack(t *testing.T) {
	long := strings.Repeat("a", MaxGroupName(1024))
	for _, tc := range []struct {
		group    string
		m        int
		identity string
	}{
		{"myapp", 8, "myapp-7d9f-x2"},
		{"myapp", 1024, "Not_A_DNS_Name"},
		{long, 1024, strings.Repeat("b", 253)},
		{strings.Repeat("c", 70), 3, "pod"}, // too long for a label value
	} {
		for _, name := range []string{ShardLease(tc.group, tc.m-1), MemberLease(tc.group, tc.identity)} {
			if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
				t.Errorf("%q is not a valid Lease name: %v", name, errs)
			}
		}
		for k, v := range ShardLabels(tc.group, tc.m-1, tc.m) {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("label %s=%q is not valid: %v", k, v, errs)
			}
		}
		ann := map[string]string{GroupAnnotation: tc.group}
		got := Parse(ShardLabels(tc.group, tc.m-1, tc.m), ann)
		if want := (Of{Group: tc.group, Shard: tc.m - 1, Shards: tc.m}); got != want {
			t.Errorf("Parse(shard labels) = %+v, want %+v", got, want)
		}
		if got := Parse(MemberLabels(tc.group), ann); got != (Of{Group: tc.group, Member: true}) {
			t.Errorf("Parse(member labels) = %+v", got)
		}
		if i, ok := ShardOfName(tc.group, ShardLease(tc.group, tc.m-1)); !ok || i != tc.m-1 {
			t.Errorf("ShardOfName = %d, %v", i, ok)
		}
	}
}

func TestParseRefusesWhatIsNotOurs(t *testing.T) {
	ann := map[string]string{GroupAnnotation: "myapp"}
	for name, labels := range map[string]map[string]string{
		"no labels":       nil,
		"other group":     {GroupLabel: "other", RoleLabel: RoleMember},
		"unknown role":    {GroupLabel: "myapp", RoleLabel: "boss"},
		"shard beyond M":  {GroupLabel: "myapp", RoleLabel: RoleShard, ShardLabel: "8", ShardsLabel: "8"},
		"M too large":     {GroupLabel: "myapp", RoleLabel: RoleShard, ShardLabel: "0", ShardsLabel: "1025"},
		"shard not a num": {GroupLabel: "myapp", RoleLabel: RoleShard, ShardLabel: "x", ShardsLabel: "8"},
	} {
		if got := Parse(labels, ann); got.Group != "" {
			t.Errorf("%s: Parse = %+v, want no group", name, got)
		}
	}
	for _, name := range []string{"myapp-shard-", "myapp-shard-01", "myapp-shard--1", "other-shard-1", "myapp-member-1"} {
		if _, ok := ShardOfName("myapp", name); ok {
			t.Errorf("ShardOfName(%q) is ok", name)
		}
	}
}

func TestCheckGroupName(t *testing.T) {
	if err := CheckGroupName(strings.Repeat("a", MaxGroupName(8)), 8); err != nil {
		t.Errorf("longest name refused: %v", err)
	}
	err := CheckGroupName(strings.Repeat("a", MaxGroupName(8)+1), 8)
	if err == nil || !strings.Contains(err.Error(), "at most 229") {
		t.Errorf("too long a name: %v", err)
	}
}
