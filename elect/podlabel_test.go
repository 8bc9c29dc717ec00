package elect

import "testing"

// Every change is a JSON merge patch of the one label: set to the value, or
// null to remove it; nothing else of the Pod is in it.
func TestLabelPatch(t *testing.T) {
	leader := "leader"
	tests := []struct {
		value *string
		want  string
	}{
		{&leader, `{"metadata":{"labels":{"leader-elector.io/role":"leader"}}}`},
		{nil, `{"metadata":{"labels":{"leader-elector.io/role":null}}}`},
	}
	for _, tt := range tests {
		if got := string(labelPatch("leader-elector.io/role", tt.value)); got != tt.want {
			t.Errorf("labelPatch = %s, want %s", got, tt.want)
		}
	}
}
