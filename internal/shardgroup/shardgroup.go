// Package shardgroup names the Leases of a shard group (elect --shards,
// docs/shards.md) and reads those names back, for the elector and the
// dashboard alike.
//
// A group called LEASE_NAME with M shards is:
//   - M shard Leases, LEASE_NAME-shard-0 ... LEASE_NAME-shard-<M-1>, each an
//     ordinary client-go Lease whose holder acts for that shard;
//   - one member Lease per live replica, LEASE_NAME-member-<identity> (or a
//     hash of the identity when that is not a valid name), held by the
//     replica while it runs, so every replica knows who shares the work.
//
// Every one of them carries the label GroupLabel, so one list-and-watch
// follows the whole group and `kubectl get lease -l` shows it; a shard Lease
// also says its number and the group's size.
package shardgroup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels and annotations on the group's Leases.
const (
	// GroupLabel names the group: LEASE_NAME, or a hash of it when the
	// name does not fit a label value (63 characters).
	GroupLabel = "leader-elector.io/shard-group"
	// RoleLabel is "shard" or "member".
	RoleLabel = "leader-elector.io/shard-role"
	// ShardLabel is a shard Lease's number, 0 to M-1.
	ShardLabel = "leader-elector.io/shard"
	// ShardsLabel is the group's number of shards M.
	ShardsLabel = "leader-elector.io/shards"
	// GroupAnnotation is the group's full name (LEASE_NAME), on every
	// Lease of it.
	GroupAnnotation = "leader-elector.io/shard-group"
)

// Roles, the values of RoleLabel.
const (
	RoleShard  = "shard"
	RoleMember = "member"
)

// MaxShards bounds --shards.
const MaxShards = 1024

const (
	shardInfix  = "-shard-"
	memberInfix = "-member-"
	hashLen     = 16 // hex digits of a member name's hash
	maxName     = 253
)

// MaxGroupName is the longest LEASE_NAME whose every Lease name fits in 253
// characters with m shards: the longer suffix of a shard's and of a hashed
// member's.
func MaxGroupName(m int) int {
	shard := len(shardInfix) + len(strconv.Itoa(max(m-1, 0)))
	member := len(memberInfix) + hashLen
	return maxName - max(shard, member)
}

// ShardLease is the name of shard i's Lease.
func ShardLease(group string, i int) string {
	return group + shardInfix + strconv.Itoa(i)
}

// MemberLease is the name of identity's member Lease: readable when the
// identity makes a valid name (a Pod name does), a hash of it otherwise.
func MemberLease(group, identity string) string {
	name := group + memberInfix + identity
	if len(name) <= maxName && len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	sum := sha256.Sum256([]byte(identity))
	return group + memberInfix + hex.EncodeToString(sum[:])[:hashLen]
}

// GroupValue is GroupLabel's value for group.
func GroupValue(group string) string {
	if len(validation.IsValidLabelValue(group)) == 0 {
		return group
	}
	sum := sha256.Sum256([]byte(group))
	return "h-" + hex.EncodeToString(sum[:])[:hashLen]
}

// ShardLabels are the labels of shard i of an m-shard group.
func ShardLabels(group string, i, m int) map[string]string {
	return map[string]string{
		GroupLabel:  GroupValue(group),
		RoleLabel:   RoleShard,
		ShardLabel:  strconv.Itoa(i),
		ShardsLabel: strconv.Itoa(m),
	}
}

// MemberLabels are the labels of a member Lease of group.
func MemberLabels(group string) map[string]string {
	return map[string]string{GroupLabel: GroupValue(group), RoleLabel: RoleMember}
}

// Selector selects every Lease of group.
func Selector(group string) string { return GroupLabel + "=" + GroupValue(group) }

// Of is what a Lease's labels and annotations say of its place in a group.
type Of struct {
	Group  string // LEASE_NAME; "" when the Lease belongs to no group
	Member bool   // a member Lease, not a shard
	Shard  int    // a shard Lease's number
	Shards int    // the group's M, as the shard Lease says
}

// Parse reads a Lease's group from its labels and annotations: "" Group
// when it is not one of ours.
func Parse(labels, annotations map[string]string) Of {
	group := annotations[GroupAnnotation]
	if group == "" || labels[GroupLabel] != GroupValue(group) {
		return Of{}
	}
	switch labels[RoleLabel] {
	case RoleMember:
		return Of{Group: group, Member: true}
	case RoleShard:
		i, err1 := strconv.Atoi(labels[ShardLabel])
		m, err2 := strconv.Atoi(labels[ShardsLabel])
		if err1 != nil || err2 != nil || i < 0 || m < 1 || i >= m || m > MaxShards {
			return Of{}
		}
		return Of{Group: group, Shard: i, Shards: m}
	}
	return Of{}
}

// ShardOfName reads the shard number from a shard Lease's name; ok is false
// when name is not one of group's shard Leases.
func ShardOfName(group, name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, group+shardInfix)
	if !ok || rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// CheckGroupName is nil when every Lease of an m-shard group called group
// has a valid name; its error says how long the name may be.
func CheckGroupName(group string, m int) error {
	if n := MaxGroupName(m); len(group) > n {
		return fmt.Errorf("lease name %q is %d characters; with --shards the shard and member Leases add a suffix, so it may have at most %d", group[:min(len(group), 40)]+"...", len(group), n)
	}
	return nil
}
