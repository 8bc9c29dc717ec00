package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// shellBin builds the binary once into a directory that the shells get as
// PATH, under its own name and as the kubectl plugin's two names.
var shellBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "leader-elector-shells-")
	if err != nil {
		return "", err
	}
	out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "leader-elector"), ".").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	for _, name := range []string{pluginName, pluginCompletionName} {
		if err := os.Symlink("leader-elector", filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	return dir, nil
})

// shellEnv is an environment for a shell: PATH with the binary first, a
// kubeconfig with two contexts, and no rc files of ours.
func shellEnv(t *testing.T) []string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the completion scripts are for bash, zsh and fish")
	}
	dir, err := shellBin()
	if err != nil {
		t.Fatalf("building the binary: %v", err)
	}
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	const twoContexts = `apiVersion: v1
kind: Config
clusters:
- {name: c, cluster: {server: "https://127.0.0.1:1"}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: prod-eu, context: {cluster: c, user: u}}
- {name: staging, context: {cluster: c, user: u}}
current-context: prod-eu
`
	if err := os.WriteFile(kc, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	return []string{"PATH=" + dir + ":/usr/bin:/bin", "KUBECONFIG=" + kc, "HOME=" + home, "TERM=dumb", "LANG=C.UTF-8"}
}

// needShell finds a shell, or skips saying how to get it: CI machines
// install bash, zsh and fish (apt-get install -y zsh fish) before the tests.
func needShell(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed, so its completion script is not tested here: apt-get install -y %s (or brew install %s) to run it", name, name, name)
	}
	return path
}

// TestCompletionInFish sources the fish script in a real fish and asks
// fish what it completes.
func TestCompletionInFish(t *testing.T) {
	fish := needShell(t, "fish")
	env := shellEnv(t)
	for line, want := range map[string]string{
		"leader-elector watch -o ya":    "yaml",
		"leader-elector watch --all-co": "--all-contexts",
		"leader-elector --context st":   "staging",
		"leader-elector wa":             "watch",
	} {
		cmd := exec.Command(fish, "--no-config", "-c", `source (leader-elector completion fish | psub); complete -C"`+line+`"`)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil || !slices.Contains(strings.Fields(string(out)), want) {
			t.Errorf("fish completes %q with %q (%v), want %q", line, out, err, want)
		}
	}
}

// TestCompletionInBashAndZsh types into a real interactive bash and zsh
// on a terminal: source the script, type the start of a line, press TAB,
// and read what the shell inserted.
func TestCompletionInBashAndZsh(t *testing.T) {
	for _, shell := range []struct {
		name string
		args []string
	}{
		{"bash", []string{"--norc", "--noprofile", "-i"}},
		{"zsh", []string{"-f", "-i"}},
	} {
		t.Run(shell.name, func(t *testing.T) {
			path := needShell(t, shell.name)
			env := shellEnv(t)
			for _, tc := range []struct{ typed, inserted string }{
				{"leader-elector watch --all-con", "texts"},
				{"leader-elector watch -o yam", "l"},
				{"leader-elector --context stag", "ing"},
				{"leader-elector completion fi", "sh"},
			} {
				got := typeTab(t, path, shell.args, env, "source <(leader-elector completion "+shell.name+")", tc.typed, tc.inserted)
				if !strings.Contains(got, tc.inserted) {
					t.Errorf("%s: %q then TAB inserted %q, want %q", shell.name, tc.typed, got, tc.inserted)
				}
			}
		})
	}
}

// typeTab starts the shell on a terminal, runs setup, types line and a
// TAB, and returns what the shell wrote after the TAB (escapes dropped),
// as soon as that holds want, or after 10 s (a completion runs the binary,
// which a loaded machine makes slow: no fixed wait).
func typeTab(t *testing.T, path string, args, env []string, setup, line, want string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 200})
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = tty.Close()
	}()
	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	read := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String()
	}
	waitOutput := func(what string, until func(string) bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !until(read()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out waiting for %s; the terminal shows %q", path, what, read())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, _ = tty.WriteString(setup + "; echo READY-$((40+2))\n")
	waitOutput("the script to be sourced", func(s string) bool { return strings.Contains(s, "READY-42") })
	time.Sleep(200 * time.Millisecond)
	_, _ = tty.WriteString(line)
	waitOutput("the typed line", func(s string) bool { return strings.Contains(s, line[len(line)-4:]) })
	before := len(read())
	_, _ = tty.WriteString("\t")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got := stripEscapes(read()[before:]); strings.Contains(got, want) {
			return got
		}
	}
	return stripEscapes(read()[before:])
}

// stripEscapes drops terminal escape sequences and control characters.
func stripEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
		case c == 0x1b:
			i++
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// TestKubectlPluginCompletion: kubectl (1.26 and later) completes
// `kubectl leases ...<TAB>` by running kubectl_complete-leases __complete
// ... and reading Cobra's format. No kubectl is needed to test it.
func TestKubectlPluginCompletion(t *testing.T) {
	env := shellEnv(t)
	dir, _ := shellBin()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "-o", "ya"}, "yaml\n:4\n"},
		{[]string{"__complete", "--output=cu"}, "--output=custom-columns=\n--output=custom-columns-file=\n:6\n"},
		{[]string{"__complete", "--context", "st"}, "staging\n:4\n"},
		{[]string{"__complete", "--all-n"}, "--all-namespaces\n:4\n"},
		// kubectl passes the words alone; the script it runs may add __complete.
		{[]string{"--all-n"}, "--all-namespaces\n:4\n"},
	} {
		cmd := exec.Command(filepath.Join(dir, pluginCompletionName), tc.args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil || string(out) != tc.want {
			t.Errorf("kubectl_complete-leases %q: %q (%v), want %q", tc.args, out, err, tc.want)
		}
	}
}
