package tuning

import (
	"fmt"
	"io/fs"
	"testing"
)

func TestPlan(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		name  string
		env   map[string]string
		files map[string]string
		mode  Mode
		want  Settings
	}{
		{"no container limit", nil, map[string]string{cgroupV2: "max\n"}, Mode{GCPercent: 100}, Settings{}},
		{"cgroup v2 limit", nil, map[string]string{cgroupV2: "67108864\n"}, Mode{GCPercent: 100},
			Settings{Limit: 64 * mib * 9 / 10, LimitFrom: cgroupV2}},
		{"cgroup v1 limit", nil, map[string]string{cgroupV1: "134217728\n"}, Mode{GCPercent: 100},
			Settings{Limit: 128 * mib * 9 / 10, LimitFrom: cgroupV1}},
		{"cgroup v1 without a limit", nil, map[string]string{cgroupV1: "9223372036854771712\n"}, Mode{GCPercent: 100}, Settings{}},
		{"no cgroup files", nil, nil, Mode{GCPercent: 100}, Settings{}},
		{"garbage in the file", nil, map[string]string{cgroupV2: "lots\n"}, Mode{GCPercent: 100}, Settings{}},
		{"GOMEMLIMIT wins over the cgroup", map[string]string{"GOMEMLIMIT": "50MiB"}, map[string]string{cgroupV2: "67108864"}, Mode{GCPercent: 100},
			Settings{LimitFrom: "GOMEMLIMIT"}},
		{"the mode's GC percent", nil, nil, Mode{GCPercent: 25}, Settings{GCPercent: 25}},
		{"GOGC wins over the mode's", map[string]string{"GOGC": "200"}, nil, Mode{GCPercent: 25}, Settings{GCFrom: "GOGC"}},
		{"the mode's GOMAXPROCS", nil, nil, Mode{Procs: 1}, Settings{Procs: 1}},
		{"GOMAXPROCS wins over the mode's", map[string]string{"GOMAXPROCS": "4"}, nil, Mode{Procs: 1}, Settings{ProcsFrom: "GOMAXPROCS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(func(k string) string { return tt.env[k] }, func(p string) ([]byte, error) {
				if v, ok := tt.files[p]; ok {
					return []byte(v), nil
				}
				return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
			}, tt.mode)
			if got != tt.want {
				t.Errorf("Plan = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLogArgs(t *testing.T) {
	tests := []struct {
		s    Settings
		want []any
	}{
		{Settings{Limit: 115 << 20, LimitFrom: cgroupV2, GCPercent: 25, Procs: 1},
			[]any{"memoryLimit", "115 MiB (90% of /sys/fs/cgroup/memory.max)", "gcPercent", "25", "maxProcs", "1"}},
		{Settings{LimitFrom: "GOMEMLIMIT", GCFrom: "GOGC", ProcsFrom: "GOMAXPROCS"},
			[]any{"memoryLimit", "from GOMEMLIMIT", "gcPercent", "from GOGC", "maxProcs", "from GOMAXPROCS"}},
		{Settings{},
			[]any{"memoryLimit", "none", "gcPercent", "100 (Go's default)", "maxProcs", "the runtime's"}},
	}
	for _, tt := range tests {
		if got := tt.s.LogArgs(); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("LogArgs(%+v) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
