package tui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/leader-elector/leader-elector/watch"
)

// onceRows are four Leases of two contexts: the objects as the API server
// returned them and the watch's judgement of each.
func onceRows() []TableRow {
	ctrl := held("default", "my-controller", "my-controller-7d9f8b6c4-x2x9k", 41*time.Minute, 1800*time.Millisecond, 3)
	ctrl.Labels = map[string]string{"app": "my-controller"}
	late := held("payments", "payments-leader", "pay-1", 3*time.Hour, 19*time.Second, 12) // expired 4 s ago
	rel := held("payments", "batch-lock", "", time.Hour, 25*time.Second, 4)
	rel.Holder, rel.Status, rel.ExpiresAt = "", watch.StatusReleased, time.Time{}
	evil := held("default", "evil", "pwn\x1b[2J", time.Minute, time.Second, 0)
	evil.Labels = map[string]string{"tier": "x\x1b[2Jy"}
	object := func(s watch.LeaseState, age time.Duration) coordinationv1.Lease {
		return coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Labels: s.Labels, CreationTimestamp: metav1.NewTime(t0.Add(-age)), ResourceVersion: "7"},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(s.Holder), LeaseDurationSeconds: ptr.To(s.LeaseDurationSeconds), LeaseTransitions: ptr.To(s.Transitions)},
		}
	}
	return []TableRow{
		{Context: "prod-eu", Object: object(ctrl, 50*time.Hour), Lease: ctrl},
		{Context: "prod-eu", Object: object(late, 3*24*time.Hour), Lease: late},
		{Context: "prod-us", Object: object(rel, 2*time.Hour), Lease: rel},
		{Context: "prod-us", Object: object(evil, 90*time.Second), Lease: evil},
	}
}

// TestWriteLeases is watch --once's output in kubectl get's formats: its
// table layout, ages on our clock, hostile strings inert, and the List
// that JSON, YAML, names and templates read.
func TestWriteLeases(t *testing.T) {
	ccFile := filepath.Join(t.TempDir(), "cols")
	if err := os.WriteFile(ccFile, []byte("NAME HOLDER\n.metadata.name .spec.holderIdentity\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts GetOptions
		want string
	}{{"contexts and namespaces", GetOptions{Contexts: true, Namespaces: true}, `
CONTEXT   NAMESPACE   NAME              HOLDER                          STATUS     RENEWED    EXPIRES     TRANSITIONS   AGE
prod-eu   default     my-controller     my-controller-7d9f8b6c4-x2x9k   held       1.8s ago   13s         3             2d2h
prod-eu   payments    payments-leader   pay-1                           expired    19s ago    late 4.0s   12            3d
prod-us   payments    batch-lock        -                               released   25s ago    -           4             2h
prod-us   default     evil              pwn\x1b[2J                      held       1.0s ago   14s         0             1m30s
`}, {"one namespace: no NAMESPACE column", GetOptions{}, `
NAME              HOLDER                          STATUS     RENEWED    EXPIRES     TRANSITIONS   AGE
my-controller     my-controller-7d9f8b6c4-x2x9k   held       1.8s ago   13s         3             2d2h
payments-leader   pay-1                           expired    19s ago    late 4.0s   12            3d
batch-lock        -                               released   25s ago    -           4             2h
evil              pwn\x1b[2J                      held       1.0s ago   14s         0             1m30s
`}, {"wide, no headers", GetOptions{Output: "wide", NoHeaders: true}, `
my-controller     my-controller-7d9f8b6c4-x2x9k   held       1.8s ago   13s         3     2d2h    15s   41m   <none>   0
payments-leader   pay-1                           expired    19s ago    late 4.0s   12    3d      15s   3h    <none>   0
batch-lock        -                               released   25s ago    -           4     2h      15s   1h    <none>   0
evil              pwn\x1b[2J                      held       1.0s ago   14s         0     1m30s   15s   1m    <none>   0
`}, {"--show-labels and -L, sorted by name", GetOptions{ShowLabels: true, LabelColumns: []string{"tier"}, SortBy: ".metadata.name"}, `
NAME              HOLDER                          STATUS     RENEWED    EXPIRES     TRANSITIONS   AGE     TIER        LABELS
batch-lock        -                               released   25s ago    -           4             2h                  <none>
evil              pwn\x1b[2J                      held       1.0s ago   14s         0             1m30s   x\x1b[2Jy   tier=x\x1b[2Jy
my-controller     my-controller-7d9f8b6c4-x2x9k   held       1.8s ago   13s         3             2d2h                app=my-controller
payments-leader   pay-1                           expired    19s ago    late 4.0s   12            3d                  <none>
`}, {"--sort-by a number", GetOptions{Output: "name", SortBy: "{.spec.leaseTransitions}"}, `
lease.coordination.k8s.io/evil
lease.coordination.k8s.io/my-controller
lease.coordination.k8s.io/batch-lock
lease.coordination.k8s.io/payments-leader
`}, {"jsonpath", GetOptions{Output: "jsonpath={range .items[*]}{.metadata.name}={.spec.holderIdentity}{\"\\n\"}{end}"}, `
my-controller=my-controller-7d9f8b6c4-x2x9k
payments-leader=pay-1
batch-lock=
evil=pwn` + "\x1b" + `[2J
`}, {"go-template", GetOptions{Output: `go-template={{range .items}}{{.metadata.namespace}}/{{.metadata.name}} {{.spec.leaseDurationSeconds}}{{"\n"}}{{end}}`}, `
default/my-controller 15
payments/payments-leader 15
payments/batch-lock 15
default/evil 15
`}, {"custom-columns", GetOptions{Output: "custom-columns=NAME:.metadata.name,HOLDER:.spec.holderIdentity,PREFERRED:.spec.preferredHolder"}, `
NAME              HOLDER                          PREFERRED
my-controller     my-controller-7d9f8b6c4-x2x9k   <none>
payments-leader   pay-1                           <none>
batch-lock        <none>                          <none>
evil              pwn\x1b[2J                      <none>
`}, {"custom-columns-file", GetOptions{Output: "custom-columns-file=" + ccFile, NoHeaders: true}, `
my-controller     my-controller-7d9f8b6c4-x2x9k
payments-leader   pay-1
batch-lock        <none>
evil              pwn\x1b[2J
`}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteLeases(&b, onceRows(), t0, tc.opts); err != nil {
				t.Fatal(err)
			}
			if got := "\n" + b.String(); got != tc.want {
				t.Errorf("got:%s\nwant:%s", got, tc.want)
			}
		})
	}
}

// TestWriteLeasesList: -o json and -o yaml print kubectl's List, so that
// `jq '.items[]'` works as on kubectl get's output.
func TestWriteLeasesList(t *testing.T) {
	var b strings.Builder
	if err := WriteLeases(&b, onceRows(), t0, GetOptions{Output: "json"}); err != nil {
		t.Fatal(err)
	}
	var list struct {
		APIVersion, Kind string
		Metadata         map[string]any
		Items            []coordinationv1.Lease
	}
	if err := json.Unmarshal([]byte(b.String()), &list); err != nil {
		t.Fatalf("-o json is not one JSON document: %v\n%s", err, b.String())
	}
	if list.APIVersion != "v1" || list.Kind != "List" || len(list.Items) != 4 || list.Metadata == nil {
		t.Fatalf("-o json: %s", b.String())
	}
	if it := list.Items[0]; it.Kind != "Lease" || it.APIVersion != "coordination.k8s.io/v1" || *it.Spec.HolderIdentity != "my-controller-7d9f8b6c4-x2x9k" {
		t.Errorf("first item %+v", it)
	}
	if !strings.HasPrefix(b.String(), "{\n    \"apiVersion\": \"v1\",\n    \"items\": [") {
		t.Errorf("-o json is not indented as kubectl's:\n%s", b.String())
	}
	b.Reset()
	if err := WriteLeases(&b, onceRows()[:1], t0, GetOptions{Output: "yaml"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"apiVersion: v1\nitems:\n- apiVersion: coordination.k8s.io/v1\n  kind: Lease\n", "    holderIdentity: my-controller-7d9f8b6c4-x2x9k\n", "kind: List\nmetadata:\n  resourceVersion: \"\"\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("-o yaml lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteLeases(&b, onceRows()[:1], t0, GetOptions{Output: "json", Single: true}); err != nil || !strings.HasPrefix(b.String(), "{\n    \"apiVersion\": \"coordination.k8s.io/v1\",\n    \"kind\": \"Lease\",") {
		t.Errorf("one Lease asked for by name is %q, %v; want the Lease itself, as kubectl get lease NAME -o json", b.String(), err)
	}
	b.Reset()
	if err := WriteLeases(&b, nil, t0, GetOptions{Output: "json"}); err != nil || !strings.Contains(b.String(), `"items": []`) {
		t.Errorf("an empty -o json is %q, %v; want a List with no items", b.String(), err)
	}
}

// TestValidateOutput: a format that cannot print is refused before the
// API server is asked, in one line naming the fix.
func TestValidateOutput(t *testing.T) {
	for _, tc := range []struct{ output, want string }{
		{"", ""}, {"wide", ""}, {"json", ""}, {"yaml", ""}, {"name", ""},
		{"jsonpath={.items[*].metadata.name}", ""},
		{"go-template={{.kind}}", ""},
		{"custom-columns=N:.metadata.name", ""},
		{"yml", `unknown -o "yml"`},
		{"jsonpath=", "needs a template"},
		{"jsonpath={.items[", "unterminated array"},
		{"go-template={{.kind", "fix the template"},
		{"custom-columns=name", `"name" is not HEADER:JSONPATH`},
		{"jsonpath-file=/nonexistent", "cannot read the template"},
		{"json=x", `unknown -o "json=x"`},
	} {
		err := ValidateOutput(tc.output)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("-o %q: %v", tc.output, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("-o %q: %v, want one line with %q", tc.output, err, tc.want)
		}
	}
}
