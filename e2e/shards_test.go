package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/leader-elector/leader-elector/elect"
	"github.com/leader-elector/leader-elector/internal/replica"
	"github.com/leader-elector/leader-elector/internal/shardgroup"
)

// shardReplica is one elect --shards process and its status directory.
type shardReplica struct {
	*testProc
	id, dir, http string
	killed        bool
}

// owned lists the shards whose file is in the replica's directory, with
// what each holds.
func (r *shardReplica) owned() map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir(r.dir)
	for _, e := range entries {
		n, ok := strings.CutPrefix(e.Name(), "shard-")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.dir, e.Name()))
		if err != nil {
			continue // removed between the listing and the read
		}
		out[i] = string(b)
	}
	return out
}

func (r *shardReplica) shards() []int {
	var out []int
	for i := range r.owned() {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// shardGroupTest is a group of replicas of one app, and a checker that
// reads every status directory all along.
type shardGroupTest struct {
	s      *electSetup
	m      int
	mu     sync.Mutex
	reps   []*shardReplica
	errs   []string
	stop   chan struct{}
	done   chan struct{}
	appear map[int][]shardSeen // per shard: who showed it from when
}

type shardSeen struct {
	id string
	at time.Time
}

func newShardGroupTest(t *testing.T, m int) *shardGroupTest {
	g := &shardGroupTest{s: newElectSetup(t), m: m, stop: make(chan struct{}), done: make(chan struct{}), appear: map[int][]shardSeen{}}
	go g.check()
	t.Cleanup(func() { g.finish(t) })
	return g
}

func (g *shardGroupTest) start(id string, extra ...string) *shardReplica {
	g.s.t.Helper()
	r := &shardReplica{id: id, dir: filepath.Join(g.s.t.TempDir(), "shards")}
	args := fastArgs(replica.Elect{Kubeconfig: g.s.kubeconfig, Lease: g.s.lease, Identity: id,
		Extra: append([]string{"--shards", strconv.Itoa(g.m), "--status-dir", r.dir}, extra...)})
	r.testProc = startBinary(g.s.t, nil, args...)
	g.mu.Lock()
	g.reps = append(g.reps, r)
	g.mu.Unlock()
	return r
}

var shardLine = regexp.MustCompile(`^shard=(\d+)\nidentity=(\S+)\ntoken=(\d+)\n$`)

// check reads every live replica's directory every few milliseconds: no
// shard may show in two of them, and each file says its shard and owner.
func (g *shardGroupTest) check() {
	defer close(g.done)
	last := map[int]string{}
	for {
		select {
		case <-g.stop:
			return
		case <-time.After(5 * time.Millisecond):
		}
		g.mu.Lock()
		reps := slices.Clone(g.reps)
		g.mu.Unlock()
		seen := map[int][]string{}
		for _, r := range reps {
			if r.killed {
				continue // its files died with it (with the Pod)
			}
			for i, content := range r.owned() {
				m := shardLine.FindStringSubmatch(content)
				if m == nil || m[1] != strconv.Itoa(i) || m[2] != r.id {
					g.fail(fmt.Sprintf("%s's shard-%d holds %q", r.id, i, content))
				}
				seen[i] = append(seen[i], r.id)
			}
		}
		now := time.Now()
		g.mu.Lock()
		for i, ids := range seen {
			if len(ids) > 1 {
				g.errs = append(g.errs, fmt.Sprintf("%s: shard %d shown by %v at once", now.Format("15:04:05.000"), i, ids))
			}
			if last[i] != ids[0] {
				g.appear[i] = append(g.appear[i], shardSeen{ids[0], now})
			}
		}
		for i := range last {
			if len(seen[i]) == 0 {
				last[i] = ""
			}
		}
		for i, ids := range seen {
			last[i] = ids[0]
		}
		g.mu.Unlock()
	}
}

func (g *shardGroupTest) fail(msg string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs = append(g.errs, msg)
}

func (g *shardGroupTest) finish(t *testing.T) {
	close(g.stop)
	<-g.done
	for _, e := range g.errs {
		t.Error(e)
	}
}

// live are the replicas still running.
func (g *shardGroupTest) live() []*shardReplica {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []*shardReplica
	for _, r := range g.reps {
		if !r.killed && !r.exited() {
			out = append(out, r)
		}
	}
	return out
}

// balanced waits until the live replicas together show every shard once,
// each ⌊M/N⌋ or ⌈M/N⌉ of them.
func (g *shardGroupTest) balanced(t *testing.T, timeout time.Duration) map[string][]int {
	t.Helper()
	var got map[string][]int
	waitFor(t, timeout, "every shard shown once, balanced", func() bool {
		got = map[string][]int{}
		live := g.live()
		total := 0
		for _, r := range live {
			got[r.id] = r.shards()
			total += len(got[r.id])
			if n := len(got[r.id]); n != g.m/len(live) && n != (g.m+len(live)-1)/len(live) {
				return false
			}
		}
		return total == g.m
	})
	return got
}

// TestShards is the story on a real API server: four replicas
// share eight shards, two each; a SIGTERM moves only the leaver's two; a
// fifth replica takes its share within a lease duration; a SIGKILL frees
// the killed replica's shards only after their Leases expire. Never does a
// shard show in two directories.
func TestShards(t *testing.T) {
	g := newShardGroupTest(t, 8)
	addr := freeAddr(t)
	first := g.start("r-0", "--http-addr", addr)
	for i := 1; i < 4; i++ {
		g.start(fmt.Sprintf("r-%d", i))
	}
	before := g.balanced(t, 30*time.Second)
	for id, s := range before {
		if len(s) != 2 {
			t.Fatalf("%s owns %v, want 2 of 8 among 4", id, s)
		}
	}
	t.Logf("settled: %v", before)

	// /leader and /metrics say what the directory says.
	var info struct {
		IsLeader bool  `json:"isLeader"`
		Shards   []int `json:"shards"`
	}
	getJSON(t, "http://"+addr+"/leader", &info)
	if !slices.Equal(info.Shards, before["r-0"]) || !info.IsLeader {
		t.Errorf("/leader says shards %v (isLeader %v), the directory %v", info.Shards, info.IsLeader, before["r-0"])
	}
	if metrics := getText(t, "http://"+addr+"/metrics"); !strings.Contains(metrics, `leader_election_shards_owned{name="lock"} 2`) {
		t.Errorf("/metrics lacks leader_election_shards_owned 2:\n%s", grepLines(metrics, "shards"))
	}
	// r-0's event stream, read to the end of the test: it must push the
	// shards as they change, down to none when r-0 stops.
	frames := streamLeader(t, "http://"+addr+"/leader")

	// SIGTERM: only the leaver's shards move, and it exits 0.
	leaver := g.live()[1]
	leaver.Signal(syscall.SIGTERM)
	if code := leaver.Wait(20 * time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d, want 0; stderr:\n%s", code, leaver.Stderr())
	}
	after := g.balanced(t, 10*time.Second)
	moved := 0
	for id, s := range after {
		for _, i := range before[id] {
			if !slices.Contains(s, i) {
				t.Errorf("%s lost shard %d, though only %s left: %v -> %v", id, i, leaver.id, before, after)
			}
		}
		moved += len(s) - len(before[id])
	}
	if moved != 2 {
		t.Errorf("%d shards moved after one of four left, want its 2: %v -> %v", moved, before, after)
	}

	// A fifth replica joins: within a lease duration (3s) of its member
	// Lease it acts for its share, 2 of 8 among 4.
	joined := time.Now()
	fifth := g.start("r-4")
	waitFor(t, 15*time.Second, "the new replica to act for its shards", func() bool { return len(fifth.shards()) >= 2 })
	t.Logf("the fifth replica took %v in %v", fifth.shards(), time.Since(joined).Round(time.Millisecond))
	settled := g.balanced(t, 10*time.Second)
	if n := len(settled["r-4"]); n != 2 {
		t.Errorf("the fifth owns %d, want 2", n)
	}

	// SIGKILL: its shards stay with nobody until their Leases expire.
	var victim *shardReplica
	for _, r := range g.live() {
		if r != first {
			victim = r
			break
		}
	}
	lost := settled[victim.id]
	g.mu.Lock()
	victim.killed = true
	g.mu.Unlock()
	killed := time.Now()
	victim.Signal(syscall.SIGKILL)
	g.balanced(t, 20*time.Second)
	// The checker's next pass sees the new owners too.
	waitFor(t, 5*time.Second, "the checker to see the new owners", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, i := range lost {
			if seen := g.appear[i]; len(seen) == 0 || seen[len(seen)-1].id == victim.id {
				return false
			}
		}
		return true
	})
	// The killed replica's member Lease is collected by a live member once
	// it is no member: three lease durations after the Lease's last
	// renewal (a replica renews it only while it acts for no shard), and
	// not before its shards' Leases expired. The live replicas' member
	// Leases, though as old, stay: they are members by their shards.
	leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(g.s.ns)
	waitFor(t, 30*time.Second, "the killed replica's member Lease to be deleted", func() bool {
		_, err := leases.Get(context.Background(), "lock-member-"+victim.id, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if took := time.Since(killed); took < 2500*time.Millisecond {
		t.Errorf("the member Lease was deleted %v after the kill, while its shards' Leases were live", took)
	}
	for _, r := range g.live() {
		if _, err := leases.Get(context.Background(), "lock-member-"+r.id, metav1.GetOptions{}); err != nil {
			t.Errorf("the member Lease of live %s: %v", r.id, err)
		}
	}
	// r-0 stops: its stream pushes "shards": [] before it ends.
	first.Signal(syscall.SIGTERM)
	sawNone := false
	for f := range frames {
		if strings.Contains(f, `"shards":[]`) {
			sawNone = true
		}
	}
	if !sawNone {
		t.Errorf("r-0's /leader stream never pushed \"shards\": [] as it stopped")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, i := range lost {
		seen := g.appear[i]
		// The Lease expires a lease duration (3s) after its last renewal,
		// which was at most a retry period (0.5s) before the kill.
		if took := seen[len(seen)-1].at.Sub(killed); took < 2500*time.Millisecond {
			t.Errorf("shard %d was taken %v after the SIGKILL, before its Lease could expire", i, took)
		}
	}
}

// getJSON GETs url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getText(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestShardsExec: with a command, each replica runs one command for the
// shards it acts for, told which in LEADER_ELECTOR_SHARDS and restarted
// when they change. Two replicas share four shards; when one leaves, the
// other's command is restarted with all four, and no shard is ever in two
// running commands at once.
func TestShardsExec(t *testing.T) {
	g := newShardGroupTest(t, 4)
	runs := t.TempDir()
	// Each run notes its shards in a file of its own while it runs.
	script := `f=` + runs + `/$1.$$; echo "$LEADER_ELECTOR_SHARDS $LEADER_ELECTOR_SHARD_TOKENS" > $f.tmp && mv $f.tmp $f
trap 'rm -f $f; exit 0' TERM
while :; do sleep 0.05; done`
	cmd := func(id string) []string { return []string{"--grace", "1s", "--", "sh", "-c", script, "sh", id} }
	a := g.start("a", cmd("a")...)
	b := g.start("b", cmd("b")...)

	// The checker: no shard in two runs' notes at once.
	stop := make(chan struct{})
	checked := make(chan []string)
	go func() {
		var errs []string
		for {
			select {
			case <-stop:
				checked <- errs
				return
			case <-time.After(5 * time.Millisecond):
			}
			owner := map[string]string{}
			entries, _ := os.ReadDir(runs)
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tmp") {
					continue
				}
				b, err := os.ReadFile(filepath.Join(runs, e.Name()))
				if err != nil {
					continue
				}
				ids, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
				for _, s := range strings.Split(ids, ",") {
					if prev, ok := owner[s]; ok {
						errs = append(errs, fmt.Sprintf("shard %s in two running commands: %s and %s", s, prev, e.Name()))
					}
					owner[s] = e.Name()
				}
			}
		}
	}()
	notes := func() map[string]string {
		out := map[string]string{}
		entries, _ := os.ReadDir(runs)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(runs, e.Name())); err == nil && !strings.HasSuffix(e.Name(), ".tmp") {
				out[strings.Split(e.Name(), ".")[0]] = strings.TrimSpace(string(b))
			}
		}
		return out
	}
	shardsOf := func(note string) []string {
		ids, _, _ := strings.Cut(note, " ")
		return strings.Split(ids, ",")
	}
	waitFor(t, 30*time.Second, "each replica's command to run with two shards", func() bool {
		n := notes()
		return len(n) == 2 && len(shardsOf(n["a"])) == 2 && len(shardsOf(n["b"])) == 2
	})
	n := notes()
	for id, note := range n {
		ids, tokens, _ := strings.Cut(note, " ")
		if want := regexp.MustCompile(`^\d+:\d+,\d+:\d+$`); !want.MatchString(tokens) || !strings.HasPrefix(tokens, strings.Split(ids, ",")[0]+":") {
			t.Errorf("%s's command has shards %q and tokens %q", id, ids, tokens)
		}
		// The status directory agrees with the command's shards.
		r := map[string]*shardReplica{"a": a, "b": b}[id]
		var dir []string
		for _, i := range r.shards() {
			dir = append(dir, strconv.Itoa(i))
		}
		if strings.Join(dir, ",") != ids {
			t.Errorf("%s: the command has shards %s, the status directory %v", id, ids, dir)
		}
	}

	b.Signal(syscall.SIGTERM)
	if code := b.Wait(20 * time.Second); code != 0 {
		t.Fatalf("SIGTERM: exit %d; stderr:\n%s", code, b.Stderr())
	}
	waitFor(t, 20*time.Second, "a's command to run with all four shards", func() bool {
		n := notes()
		return len(n) == 1 && strings.HasPrefix(n["a"], "0,1,2,3 ")
	})
	close(stop)
	for _, e := range <-checked {
		t.Error(e)
	}
}

// shardRules turns elect.ShardAccess into a Role's rules, leaving out one
// verb.
func shardRules(skipVerb string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, r := range elect.ShardAccess {
		var verbs []string
		for _, v := range r.Verbs {
			if v != skipVerb {
				verbs = append(verbs, v)
			}
		}
		if len(verbs) > 0 {
			rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{r.Group}, Resources: []string{r.Resource}, Verbs: verbs})
		}
	}
	return rules
}

// TestShardsRBAC: deploy/shards/rbac.yaml grants exactly elect.ShardAccess;
// with it a replica acts for its shards and on SIGTERM deletes its member
// Lease; without delete it refuses at start, exit 2, naming the verb and
// the example Role.
func TestShardsRBAC(t *testing.T) {
	var role rbacv1.Role
	fromUnstructured(t, findManifest(t, readYAMLFile(t, filepath.Join(deployDir, "shards", "rbac.yaml")), "Role", exampleSA), &role)
	want := ruleGrants(shardRules(""))
	if got := ruleGrants(role.Rules); !maps.Equal(got, want) {
		t.Errorf("deploy/shards/rbac.yaml grants %v, elect.ShardAccess is %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}

	t.Run("no delete", func(t *testing.T) {
		ns := cp.Namespace(t)
		bindRole(t, ns, "nodelete", shardRules("delete"))
		kc := cp.Kubeconfig(t, cp.UserConfig("nodelete"), ns)
		args := fastArgs(replica.Elect{Kubeconfig: kc, Lease: "lock", Identity: "x", Extra: []string{"--shards", "2", "--status-dir", filepath.Join(t.TempDir(), "s")}})
		_, stderr, code := runBinary(t, 20*time.Second, nil, args...)
		if last := lastLine(stderr); code != 2 || !strings.Contains(last, "RBAC: not allowed to delete leases.coordination.k8s.io in namespace") || !strings.Contains(last, elect.ShardRoleHint) {
			t.Fatalf("exit %d, last line %q; want exit 2 naming delete and %s", code, last, elect.ShardRoleHint)
		}
	})
	t.Run("the example Role", func(t *testing.T) {
		ns := cp.Namespace(t)
		bindRole(t, ns, "shards", role.Rules)
		kc := cp.Kubeconfig(t, cp.UserConfig("shards"), ns)
		dir := filepath.Join(t.TempDir(), "s")
		p := startBinary(t, nil, fastArgs(replica.Elect{Kubeconfig: kc, Lease: "lock", Identity: "x",
			Extra: []string{"--shards", "2", "--status-dir", dir, "--lease-labels", "app=myapp"}})...)
		r := &shardReplica{testProc: p, id: "x", dir: dir}
		waitFor(t, 20*time.Second, "both shards with only the example Role's rights", func() bool { return len(r.shards()) == 2 })
		leases := cp.Client(t, cp.Admin).CoordinationV1().Leases(ns)

		// kubectl get lease -l app=myapp finds the whole group, each
		// Lease saying its place in it.
		list, err := leases.List(context.Background(), metav1.ListOptions{LabelSelector: "app=myapp"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range list.Items {
			of := shardgroup.Parse(l.Labels, l.Annotations)
			got = append(got, fmt.Sprintf("%s:%s/%d/%d/%v", l.Name, of.Group, of.Shard, of.Shards, of.Member))
		}
		slices.Sort(got)
		if want := []string{"lock-member-x:lock/0/0/true", "lock-shard-0:lock/0/2/false", "lock-shard-1:lock/1/2/false"}; !slices.Equal(got, want) {
			t.Errorf("Leases labelled app=myapp: %v, want %v", got, want)
		}
		if _, err := leases.Get(context.Background(), "lock-member-x", metav1.GetOptions{}); err != nil {
			t.Fatalf("the member Lease: %v", err)
		}
		p.Signal(syscall.SIGTERM)
		if code := p.Wait(20 * time.Second); code != 0 {
			t.Fatalf("exit %d after SIGTERM; stderr:\n%s", code, p.Stderr())
		}
		if _, err := leases.Get(context.Background(), "lock-member-x", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the member Lease after SIGTERM: %v, want it deleted", err)
		}
		if n := len(r.shards()); n != 0 {
			t.Errorf("%d shard files left after SIGTERM", n)
		}
	})
}

// streamLeader opens /leader as an event stream and returns its data
// frames, closed when the stream ends.
func streamLeader(t *testing.T, url string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan string, 1024)
	go func() {
		defer close(frames)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				frames <- line
			}
		}
	}()
	return frames
}
