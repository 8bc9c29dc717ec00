package elect

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	rl "k8s.io/client-go/tools/leaderelection/resourcelock"
)

// fakeInner stands in for the Lease on the API server: it stores the record
// at the microsecond precision the API server keeps.
type fakeInner struct {
	id       string
	cur      *rl.LeaderElectionRecord
	updates  int
	onUpdate func(ler rl.LeaderElectionRecord) // runs before the write lands
}

func (f *fakeInner) Get(context.Context) (*rl.LeaderElectionRecord, []byte, error) {
	if f.cur == nil {
		return nil, nil, apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, "lock")
	}
	r := *f.cur
	raw, _ := json.Marshal(r)
	return &r, raw, nil
}

func (f *fakeInner) store(ler rl.LeaderElectionRecord) {
	ler.RenewTime = metav1.NewTime(ler.RenewTime.Truncate(time.Microsecond))
	ler.AcquireTime = metav1.NewTime(ler.AcquireTime.Truncate(time.Microsecond))
	f.cur = &ler
}

func (f *fakeInner) Create(_ context.Context, ler rl.LeaderElectionRecord) error {
	f.store(ler)
	return nil
}

func (f *fakeInner) Update(_ context.Context, ler rl.LeaderElectionRecord) error {
	if f.onUpdate != nil {
		f.onUpdate(ler)
	}
	f.updates++
	f.store(ler)
	return nil
}

func (f *fakeInner) RecordEvent(string) {}
func (f *fakeInner) Identity() string   { return f.id }
func (f *fakeInner) Describe() string   { return "ns/lock" }

type guardFixture struct {
	*ownerFixture
	inner      *fakeInner
	g          *guardLock
	collisions []bool // loud flags, one per reported collision
}

func newGuardFixture(t *testing.T) *guardFixture {
	f := &guardFixture{ownerFixture: newOwnerFixture(t, false), inner: &fakeInner{id: "me"}}
	f.g = &guardLock{inner: f.inner, clock: f.clock, log: slog.New(slog.DiscardHandler), owner: f.o,
		collision: func(_ rl.LeaderElectionRecord, loud bool) { f.collisions = append(f.collisions, loud) }}
	return f
}

// record is what client-go writes for holder at the fake clock's now, with
// nanoseconds the API server will drop.
func (f *guardFixture) record(holder string) rl.LeaderElectionRecord {
	now := metav1.NewTime(f.clock.Now().Add(123 * time.Nanosecond))
	return rl.LeaderElectionRecord{HolderIdentity: holder, LeaseDurationSeconds: 15, AcquireTime: now, RenewTime: now}
}

func (f *guardFixture) get() *rl.LeaderElectionRecord {
	f.t.Helper()
	rec, raw, err := f.g.Get(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	var decoded rl.LeaderElectionRecord
	if err := json.Unmarshal(raw, &decoded); err != nil || decoded.HolderIdentity != rec.HolderIdentity {
		f.t.Fatalf("raw record %s does not match the record (holder %q)", raw, rec.HolderIdentity)
	}
	return rec
}

// Our own writes read back as ours, even at the API server's precision.
func TestGuardOwnWritesAreOurs(t *testing.T) {
	f := newGuardFixture(t)
	if err := f.g.Create(context.Background(), f.record("me")); err != nil {
		t.Fatal(err)
	}
	f.clock.Step(2 * time.Second)
	if err := f.g.Update(context.Background(), f.record("me")); err != nil {
		t.Fatal(err)
	}
	if got := f.get().HolderIdentity; got != "me" {
		t.Fatalf("holder %q, want me", got)
	}
	if len(f.collisions) != 0 {
		t.Errorf("our own writes were reported as a collision")
	}
}

// A record under our identity that this process never wrote is shown to
// client-go as another holder's. A dead predecessor's record (it never
// changes) raises no alarm; one that keeps being renewed is a live twin.
func TestGuardForeignRecordUnderOurIdentity(t *testing.T) {
	f := newGuardFixture(t)
	f.inner.store(f.record("me")) // written by a previous process
	if got := f.get().HolderIdentity; got != "me"+otherProcessSuffix {
		t.Fatalf("holder %q, want it disguised as another process", got)
	}
	f.get()
	if len(f.collisions) != 0 {
		t.Fatalf("a predecessor's unchanging record was reported as a collision")
	}
	f.clock.Step(2 * time.Second)
	f.inner.store(f.record("me")) // renewed by someone else: a live twin
	if got := f.get().HolderIdentity; got != "me"+otherProcessSuffix {
		t.Fatalf("holder %q, want it disguised", got)
	}
	if len(f.collisions) != 1 || !f.collisions[0] {
		t.Fatalf("collisions %v, want one loud report", f.collisions)
	}
	f.clock.Step(2 * time.Second)
	f.inner.store(f.record("me"))
	f.get()
	if len(f.collisions) != 2 || f.collisions[1] {
		t.Errorf("collisions %v, want a second, quiet report (rate-limited)", f.collisions)
	}
}

// While leading, a foreign write under our identity ends the term at once.
func TestGuardCollisionWhileLeadingRemovesStatusFile(t *testing.T) {
	f := newGuardFixture(t)
	run := f.o.newRun()
	if err := f.g.Create(context.Background(), f.record("me")); err != nil {
		t.Fatal(err)
	}
	f.o.startTerm(context.Background(), run)
	if !f.statusExists() {
		t.Fatal("not leading")
	}
	f.clock.Step(time.Second)
	f.inner.store(f.record("me")) // a twin's write
	f.get()
	if f.statusExists() {
		t.Errorf("the status file outlived a detected collision")
	}
	if len(f.collisions) != 1 {
		t.Errorf("collisions %v, want one", f.collisions)
	}
}

// A release removes the file before the release request leaves, and a
// Lease no longer ours is not released.
func TestGuardRelease(t *testing.T) {
	f := newGuardFixture(t)
	run := f.o.newRun()
	f.g.Create(context.Background(), f.record("me"))
	f.o.startTerm(context.Background(), run)
	f.get()
	var fileAtRelease bool
	f.inner.onUpdate = func(ler rl.LeaderElectionRecord) {
		if ler.HolderIdentity == "" {
			fileAtRelease = f.statusExists()
		}
	}
	if err := f.g.Update(context.Background(), rl.LeaderElectionRecord{LeaseDurationSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	if fileAtRelease {
		t.Errorf("the status file still existed when the release was sent")
	}

	g := newGuardFixture(t)
	g.inner.store(g.record("other"))
	g.get()
	err := g.g.Update(context.Background(), rl.LeaderElectionRecord{LeaseDurationSeconds: 1})
	if err == nil || !strings.Contains(err.Error(), "held by other") {
		t.Errorf("release of another's Lease: err %v, want a refusal", err)
	}
	if g.inner.updates != 0 {
		t.Errorf("the refused release reached the API server")
	}
}

// The deadline counts from when the renewal request started, not from when
// its answer came back.
func TestGuardRenewalStartTime(t *testing.T) {
	f := newGuardFixture(t)
	f.o.newRun()
	f.g.Create(context.Background(), f.record("me"))
	start := f.clock.Now()
	f.inner.onUpdate = func(rl.LeaderElectionRecord) { f.clock.Step(3 * time.Second) } // a slow request
	if err := f.g.Update(context.Background(), f.record("me")); err != nil {
		t.Fatal(err)
	}
	if got := f.o.lastRenewSnapshot(); !got.Equal(start) {
		t.Errorf("last renewal recorded at %v, want its start %v", got, start)
	}
}

// A leader that reads another holder in the Lease steps down at once,
// without waiting for client-go's renew deadline.
func TestGuardAnotherHolderEndsTerm(t *testing.T) {
	f := newGuardFixture(t)
	run := f.o.newRun()
	f.g.Create(context.Background(), f.record("me"))
	f.o.startTerm(context.Background(), run)
	f.inner.store(f.record("intruder"))
	if got := f.get().HolderIdentity; got != "intruder" {
		t.Fatalf("holder %q", got)
	}
	if f.statusExists() {
		t.Errorf("the status file outlived the sight of another holder")
	}
	if len(f.collisions) != 0 {
		t.Errorf("another identity is not a collision")
	}
}

// client-go stamps a record before its Get, which the watch-based lock may
// hold for seconds; the write must carry the time it is sent, and the
// corrected acquire time must survive client-go's renewals, which resend
// the acquire time of its own (stale) copy.
func TestGuardStampsWritesWhenSent(t *testing.T) {
	f := newGuardFixture(t)
	stamped := f.record("me")     // client-go's "now", taken before Get
	f.clock.Step(5 * time.Second) // Get waited until the Lease could be taken
	sent := f.clock.Now()
	if err := f.g.Create(context.Background(), stamped); err != nil {
		t.Fatal(err)
	}
	got := f.inner.cur
	if !got.AcquireTime.Time.Equal(sent) || !got.RenewTime.Time.Equal(sent) {
		t.Fatalf("acquisition written with acquire %v renew %v, want both %v (when it was sent)", got.AcquireTime, got.RenewTime, sent)
	}

	// A renewal: client-go sends its copy's acquire time (the stale stamp).
	f.clock.Step(2 * time.Second)
	renew := f.record("me")
	renew.AcquireTime = stamped.AcquireTime
	if err := f.g.Update(context.Background(), renew); err != nil {
		t.Fatal(err)
	}
	got = f.inner.cur
	if !got.AcquireTime.Time.Equal(sent) || !got.RenewTime.Time.Equal(f.clock.Now()) {
		t.Errorf("renewal written with acquire %v renew %v, want acquire %v renew %v", got.AcquireTime, got.RenewTime, sent, f.clock.Now())
	}
	if rec := f.get(); rec.HolderIdentity != "me" || len(f.collisions) != 0 {
		t.Errorf("stamped writes no longer recognised as ours: holder %q, collisions %v", rec.HolderIdentity, f.collisions)
	}
}
