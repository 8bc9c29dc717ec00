package tuie2e

import (
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/leader-elector/leader-elector/internal/controlplane"
	"github.com/leader-elector/leader-elector/internal/kubeclient"
	"github.com/leader-elector/leader-elector/tui"
	"github.com/leader-elector/leader-elector/watch"
)

// cp is the package's real control plane.
var cp *controlplane.ControlPlane

func TestMain(m *testing.M) {
	time.Local = time.UTC // the transitions pane prints local times
	os.Exit(controlplane.Main(m, &cp))
}

// waitScreen applies batches from s's channel until the screen holds
// every string in want, and returns it. The watch's context bounds the
// wait: when it ends the channel closes and the test fails.
func waitScreen(t *testing.T, s *tui.Screen, want ...string) string {
	t.Helper()
	for {
		screen := s.View()
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(screen, w)
		}
		if !missing {
			return screen
		}
		if _, open := s.Next(); !open {
			t.Fatalf("the watch ended and the screen lacks one of %q:\n%s", want, screen)
		}
	}
}

// line is the first line of screen holding every string in want, or "".
func line(screen string, want ...string) string {
	for _, l := range strings.Split(screen, "\n") {
		all := true
		for _, w := range want {
			all = all && strings.Contains(l, w)
		}
		if all {
			return l
		}
	}
	return ""
}

// watchAPI returns the watcher's clients for namespace ns of cfg's server.
func watchAPI(t testing.TB, cfg *rest.Config, ns string) watch.API {
	t.Helper()
	c, err := kubeclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return watch.NewAPI(c, ns)
}
