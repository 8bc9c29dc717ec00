package endpoints

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestMetricsValues(t *testing.T) {
	tests := []struct {
		name       string
		logDropped func() uint64 // Options.LogDropped
		steps      func(s *Server, m *Metrics, clk *clocktesting.FakePassiveClock)
		want       string // exposition text of the leader metrics
		sharded    bool   // the group's metric is expected too
	}{
		{
			name:  "fresh follower",
			steps: func(*Server, *Metrics, *clocktesting.FakePassiveClock) {},
			want: `
leader_election_master_status{name="demo"} 0
leader_elector_transitions_total 0
leader_elector_renew_errors_total 0
leader_elector_identity_collisions_total 0
leader_elector_last_renew_timestamp_seconds 0
leader_elector_seconds_since_last_renew NaN
leader_elector_log_lines_dropped_total 0
`,
		},
		{
			name: "leading, renewed 3.5s ago",
			steps: func(s *Server, m *Metrics, clk *clocktesting.FakePassiveClock) {
				s.Publish(LeaderInfo{IsLeader: true, Term: 1})
				m.RenewSucceeded(clk.Now())
				clk.SetTime(clk.Now().Add(3500 * time.Millisecond))
			},
			want: `
leader_election_master_status{name="demo"} 1
leader_elector_transitions_total 1
leader_elector_renew_errors_total 0
leader_elector_identity_collisions_total 0
leader_elector_last_renew_timestamp_seconds 1.7640756e+09
leader_elector_seconds_since_last_renew 3.5
leader_elector_log_lines_dropped_total 0
`,
		},
		{
			name:       "led twice, lost, with errors, a collision and a log that fell behind",
			logDropped: func() uint64 { return 1234 },
			steps: func(s *Server, m *Metrics, clk *clocktesting.FakePassiveClock) {
				s.Publish(LeaderInfo{IsLeader: true, Term: 1})
				s.Publish(LeaderInfo{IsLeader: true, Term: 1, RenewTime: t1}) // still the same term: not a transition
				m.RenewSucceeded(clk.Now())
				m.RenewFailed()
				s.Publish(LeaderInfo{Term: 1})
				s.Publish(LeaderInfo{IsLeader: true, Term: 2})
				m.RenewSucceeded(clk.Now().Add(-time.Minute)) // older than the last: ignored
				m.Collision()
				m.RenewFailed()
				s.Publish(LeaderInfo{Term: 2})
				clk.SetTime(clk.Now().Add(10 * time.Second))
			},
			want: `
leader_election_master_status{name="demo"} 0
leader_elector_transitions_total 2
leader_elector_renew_errors_total 2
leader_elector_identity_collisions_total 1
leader_elector_last_renew_timestamp_seconds 1.7640756e+09
leader_elector_seconds_since_last_renew 10
leader_elector_log_lines_dropped_total 1234
`,
		},
		{
			name: "a shard group's replica: two shards, then one",
			steps: func(s *Server, m *Metrics, clk *clocktesting.FakePassiveClock) {
				s.Publish(LeaderInfo{Sharded: true, Shards: []int{}})
				s.Publish(LeaderInfo{IsLeader: true, Term: 1, Sharded: true, Shards: []int{3}})
				s.Publish(LeaderInfo{IsLeader: true, Term: 2, Sharded: true, Shards: []int{3, 7}})
				s.Publish(LeaderInfo{IsLeader: true, Term: 2, Sharded: true, Shards: []int{7}})
			},
			want: `
leader_election_master_status{name="demo"} 1
leader_elector_transitions_total 2
leader_elector_renew_errors_total 0
leader_elector_identity_collisions_total 0
leader_elector_last_renew_timestamp_seconds 0
leader_elector_seconds_since_last_renew NaN
leader_elector_log_lines_dropped_total 0
leader_election_shards_owned{name="demo"} 1
`,
			sharded: true,
		},
	}
	names := []string{
		"leader_election_master_status", "leader_elector_transitions_total",
		"leader_elector_renew_errors_total", "leader_elector_identity_collisions_total",
		"leader_elector_last_renew_timestamp_seconds", "leader_elector_seconds_since_last_renew",
		"leader_elector_log_lines_dropped_total",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(time.Date(2025, 11, 25, 13, 0, 0, 0, time.UTC))
			s := New(Options{LeaseName: "demo", Clock: clk, LogDropped: tt.logDropped})
			tt.steps(s, s.Metrics(), clk)
			want := names
			if tt.sharded {
				want = append(slices.Clone(names), "leader_election_shards_owned")
			} else {
				rec := httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				if strings.Contains(rec.Body.String(), "shards_owned") {
					t.Errorf("leader_election_shards_owned without --shards")
				}
			}
			got := scrape(t, s, want)
			if got != strings.TrimSpace(tt.want) {
				t.Errorf("metrics:\n%s\nwant:\n%s", got, strings.TrimSpace(tt.want))
			}
		})
	}
}

// scrape fetches /metrics as Prometheus would and keeps the sample lines of
// the named metrics, in the order given.
func scrape(t *testing.T, s *Server, names []string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	var out []string
	for _, name := range names {
		found := false
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
				out = append(out, line)
				found = true
			}
		}
		if !found {
			t.Errorf("/metrics has no %s", name)
		}
	}
	return strings.Join(out, "\n")
}

// The exposition parses as Prometheus parses it, passes promlint, and
// carries the usual Go and process metrics.
func TestMetricsParseLintAndIncludeRuntime(t *testing.T) {
	s := New(Options{LeaseName: `de"mo`})
	s.Publish(LeaderInfo{IsLeader: true, Term: 1})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
	body := rec.Body.String()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("Prometheus cannot parse /metrics: %v\n%s", err, body)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "go_threads", "process_start_time_seconds",
		"process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds"} {
		f, ok := families[name]
		if !ok || len(f.GetMetric()) != 1 {
			t.Errorf("/metrics lacks %s", name)
			continue
		}
		v := f.GetMetric()[0].GetGauge().GetValue() + f.GetMetric()[0].GetCounter().GetValue()
		// CPU time counts in clock ticks (10 ms): a test binary run alone may
		// not have used one yet.
		if v <= 0 && !(name == "process_cpu_seconds_total" && v == 0) {
			t.Errorf("%s = %v, want a positive figure", name, v)
		}
	}
	start := families["process_start_time_seconds"].GetMetric()[0].GetGauge().GetValue()
	// The kernel's boot time (btime) has whole seconds, so the start time
	// derived from it may read up to a second late: a process started a
	// moment ago can look as if it starts within the next second.
	if age := float64(time.Now().UnixNano())/1e9 - start; age < -1 || age > 3600 {
		t.Errorf("process_start_time_seconds says the test started %.3fs ago", age)
	}
	status := families["leader_election_master_status"].GetMetric()
	if len(status) != 1 || status[0].GetLabel()[0].GetValue() != `de"mo` || status[0].GetGauge().GetValue() != 1 {
		t.Errorf("leader_election_master_status %v, want 1 with name=de\"mo", status)
	}
	problems, err := promlint.New(strings.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}
}

func TestMetricsOfServersAreIndependent(t *testing.T) {
	a := New(Options{LeaseName: "a"})
	b := New(Options{LeaseName: "b"})
	a.Publish(LeaderInfo{IsLeader: true, Term: 1})
	if got := scrape(t, a, []string{"leader_election_master_status"}); got != `leader_election_master_status{name="a"} 1` {
		t.Fatalf("a: %s, want 1", got)
	}
	if got := scrape(t, b, []string{"leader_election_master_status"}); got != `leader_election_master_status{name="b"} 0` {
		t.Fatalf("b: %s after a became leader: servers share state", got)
	}
}
