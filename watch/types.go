// Package watch informs on the coordination.k8s.io/v1 Leases of a namespace
// (or all) and turns their updates into per-Lease states and a stream of
// events: renewals, transitions with their leaderless gap, releases, expiry.
// It has no UI: the dashboard (package tui) and the JSON-lines writer render
// what it produces.
package watch

import "time"

// Status is what a Lease means right now, judged on our clock.
type Status string

const (
	// StatusHeld: a holder renewed within the lease duration.
	StatusHeld Status = "held"
	// StatusExpired: a holder is named but has not renewed within the duration.
	StatusExpired Status = "expired"
	// StatusReleased: the holder field is empty (released or never taken).
	StatusReleased Status = "released"
	// StatusNone: the Lease has no holder and never had one we know of.
	StatusNone Status = "none"
)

// LeaseState is everything we know of one Lease. Strings from the API are
// kept raw; renderers make them inert.
type LeaseState struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Group is the shard group (elect --shards, internal/shardgroup) the
	// Lease belongs to, read from its labels and annotation: "" for an
	// ordinary Lease. A group's Lease is either shard Shard of Shards, or
	// (Member) the member Lease of one live replica. JSON: "group", then
	// "shard" and "shards", or "member":true; all absent for an ordinary
	// Lease.
	Group  string `json:"group,omitempty"`
	Member bool   `json:"member,omitempty"`
	Shard  int32  `json:"shard,omitzero"`
	Shards int32  `json:"shards,omitzero"`

	Holder               string            `json:"holder"`
	AcquireTime          time.Time         `json:"acquireTime,omitzero"` // cluster clock
	RenewTime            time.Time         `json:"renewTime,omitzero"`   // cluster clock
	LeaseDurationSeconds int32             `json:"leaseDurationSeconds"`
	Transitions          int32             `json:"leaseTransitions"`
	Labels               map[string]string `json:"labels,omitempty"`
	PreferredHolder      string            `json:"preferredHolder,omitempty"`
	Strategy             string            `json:"strategy,omitempty"`
	// HandoverTo is a planned hand-over asked of the holder and not yet
	// done (docs/handover.md): the identity it names, or "*" for anyone;
	// empty when none is asked. Priority is the holder's --priority, as it
	// publishes it (0: none).
	HandoverTo string `json:"handoverTo,omitempty"`
	Priority   int32  `json:"priority,omitempty"`

	// Observed is when we (our clock) last saw holder or renewTime change;
	// expiry is judged from it, as client-go does, so skew cannot fool us.
	Observed time.Time `json:"observed,omitzero"`
	// ExpiresAt is Observed + duration on our clock (zero when not held).
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// RenewInterval is the last interval between two renewals we observed.
	// JSON: seconds as a float.
	RenewInterval time.Duration `json:"renewIntervalSeconds,omitzero"`
	Status        Status        `json:"status"`
	Flapping      bool          `json:"flapping,omitempty"`
	// Orphan: held by a name that is no Pod in the namespace.
	Orphan bool `json:"orphan,omitempty"`
	// Renewals holds the local times of the most recent observed renewals,
	// oldest first, bounded (for the dashboard's heartbeat). JSON carries
	// them only on a coalesced renewed event ("renewals"), the one case in
	// which a reader of the stream could not rebuild them from the times of
	// the renewed and transition events (see RebuildRenewals).
	Renewals []time.Time `json:"renewals,omitempty"`
	// Candidates are the LeaseCandidates naming this Lease, when served.
	Candidates []Candidate `json:"candidates,omitempty"`
	// ResourceVersion of the last object seen.
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// Key is "namespace/name".
func (s *LeaseState) Key() string { return s.Namespace + "/" + s.Name }

// InGroup says the Lease is one of a shard group's, shard or member.
func (s *LeaseState) InGroup() bool { return s.Group != "" }

// Candidate is one coordination.k8s.io/v1beta1 LeaseCandidate.
type Candidate struct {
	Name             string    `json:"name"`
	BinaryVersion    string    `json:"binaryVersion,omitempty"`
	EmulationVersion string    `json:"emulationVersion,omitempty"`
	Strategy         string    `json:"strategy,omitempty"`
	RenewTime        time.Time `json:"renewTime,omitzero"`
	PingTime         time.Time `json:"pingTime,omitzero"`
}

// EventType names an event; the values are the JSON "type" field.
type EventType string

const (
	EventAdded      EventType = "added"
	EventRenewed    EventType = "renewed"
	EventTransition EventType = "transition"
	EventReleased   EventType = "released"
	EventExpired    EventType = "expired"
	EventDeleted    EventType = "deleted"
	EventError      EventType = "error"
	// EventSynced marks the end of the initial states (after the first list).
	EventSynced EventType = "synced"
	// EventUpdated: a field other than holder and renewTime changed (labels,
	// duration, preferredHolder, strategy).
	EventUpdated EventType = "updated"
	// EventFlapping: Lease.Flapping turned on (more than the threshold of
	// transitions within the window) or off again (the window passed).
	EventFlapping EventType = "flapping"
	// EventOrphan: Lease.Orphan turned on (the holder names no Pod in the
	// namespace) or off again.
	EventOrphan EventType = "orphan"
	// EventCandidates: the LeaseCandidates naming this Lease changed.
	EventCandidates EventType = "candidates"
	// EventConnected: the API server answers again after an error event
	// (Connection is ConnConnected).
	EventConnected EventType = "connected"
)

// ConnState is the state of the link to one API server: what error and
// connected events carry (Event.Connection) and what the dashboard shows.
type ConnState string

const (
	// ConnConnecting: the API server has not answered yet. No event
	// carries it; it is where a link starts.
	ConnConnecting ConnState = "connecting"
	// ConnConnected: list and watch calls on Leases succeed.
	ConnConnected ConnState = "connected"
	// ConnLost: they fail and are retried.
	ConnLost ConnState = "lost"
	// ConnForbidden: a right was refused. On an error event about Pods
	// (Event.Resource) only that resource is refused, not the link.
	ConnForbidden ConnState = "forbidden"
	// ConnStopped: a Fleet's context whose watch ended for good at start
	// (no rights, or unreachable past its connect timeout); the message
	// says why and how to fix it.
	ConnStopped ConnState = "stopped"
)

// Where a transition's gap is measured from (Event.GapFrom).
const (
	// GapFromRenewal: the previous holder's last renewTime (it expired or
	// was taken over without releasing).
	GapFromRenewal = "renewal"
	// GapFromRelease: the time the previous holder released the Lease (the
	// renewTime written with the empty holder).
	GapFromRelease = "release"
)

// Event is one thing that happened to a Lease (or to the watch itself:
// synced, error, connected). Lease is the state after the event, a copy the
// receiver may keep but must not modify (its Labels and Candidates share
// memory with later copies). It encodes to JSON as
// AppendJSON writes it; the tags document the field names.
type Event struct {
	Type EventType `json:"type"`
	Time time.Time `json:"time"` // our clock
	// Context names the kubeconfig context the event comes from (set by
	// the Watcher from Options.Context; empty when none was given).
	Context string     `json:"context,omitempty"`
	Lease   LeaseState `json:"lease,omitzero"`
	// Transition: previous and new holder, and the leaderless gap from the
	// previous holder's last renewal or release to the new acquisition, both
	// on the cluster's clock (acquireTime and renewTime are written by the
	// electors through the API server). Released: From is who released.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Gap is meaningful only when GapFrom is set (a gap may be exactly 0);
	// JSON: seconds as a float, present whenever gapFrom is.
	Gap time.Duration `json:"gapSeconds,omitzero"`
	// GapFrom says what the gap is measured from: GapFromRenewal or
	// GapFromRelease; empty when unknown (no previous holder seen).
	GapFrom string `json:"gapFrom,omitempty"`
	// Coalesced counts earlier renewed events of this Lease that were merged
	// into this one because the receiver was behind (see Watcher.Events).
	Coalesced int `json:"coalesced,omitempty"`
	// Error and connected events: what failed and how to fix it.
	Message string `json:"message,omitempty"`
	// Connection is ConnLost, ConnForbidden or ConnStopped on error events,
	// ConnConnected on connected events.
	Connection ConnState `json:"connection,omitempty"`
	// Error events: what the failure concerns and what kind it is. A
	// reader decides what an error means from these, never from Message:
	// a denial on Pods (ResourcePods) turns off orphan judgement only, and
	// leaves the link to the Leases as it was.
	Resource Resource `json:"resource,omitempty"`
	Reason   Reason   `json:"reason,omitempty"`
}
