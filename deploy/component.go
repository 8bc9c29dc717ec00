package deploy

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// Components are the kustomize Components under deploy/components: users add
// them to their own kustomization, so they are rendered over the sample apps
// in deploy/testdata rather than on their own.
var Components = []string{"components/sidecar", "components/leader-service"}

// What components/sidecar adds, by name.
const (
	SidecarName = "leader-elector"
	VolumeName  = "leader-elector"
	StatusDir   = "/var/run/leader"
)

// Added is what components/sidecar put into a pod spec.
type Added struct {
	// Sidecar is the init container leader-elector; nil if absent.
	Sidecar *corev1.Container
	// Mounts holds, per app container, its mount of the status volume.
	Mounts map[string]corev1.VolumeMount
	// Volume is the status volume; nil if absent.
	Volume *corev1.Volume
	// ServiceAccountName is the pod's, as the Component set it.
	ServiceAccountName string
}

// SplitSidecar removes from spec what components/sidecar adds and returns
// it, with the ServiceAccount set back to appSA (the app's own, usually
// empty): what is left must equal the app's pod spec before the Component.
func SplitSidecar(spec *corev1.PodSpec, appSA string) Added {
	a := Added{Mounts: map[string]corev1.VolumeMount{}, ServiceAccountName: spec.ServiceAccountName}
	spec.ServiceAccountName = appSA
	spec.DeprecatedServiceAccount = appSA
	if c, ok := cut(&spec.InitContainers, func(c corev1.Container) bool { return c.Name == SidecarName }); ok {
		a.Sidecar = &c
	}
	for ci := range spec.Containers {
		c := &spec.Containers[ci]
		if m, ok := cut(&c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == VolumeName }); ok {
			a.Mounts[c.Name] = m
		}
	}
	if v, ok := cut(&spec.Volumes, func(v corev1.Volume) bool { return v.Name == VolumeName }); ok {
		a.Volume = &v
	}
	return a
}

// Problems checks what the Component added to a pod whose app containers
// are apps: a native sidecar electing on lease as the ServiceAccount sa,
// with its identity and namespace from the downward API and probes on its
// port, and the status directory shared read-only with every app container.
func (a Added) Problems(apps []string, sa, lease string) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if a.ServiceAccountName != sa {
		bad("serviceAccountName %q, want %q", a.ServiceAccountName, sa)
	}
	if a.Volume == nil {
		bad("no volume %s", VolumeName)
	} else if ed := a.Volume.EmptyDir; ed == nil || ed.Medium != corev1.StorageMediumMemory {
		bad("volume %s is %+v, want an emptyDir in memory", VolumeName, a.Volume.VolumeSource)
	}
	for _, app := range apps {
		m, ok := a.Mounts[app]
		switch {
		case !ok:
			bad("app container %s does not mount %s", app, VolumeName)
		case m.MountPath != StatusDir || !m.ReadOnly || m.SubPath != "":
			bad("app container %s mounts %s at %q (readOnly %v, subPath %q), want %s read-only", app, VolumeName, m.MountPath, m.ReadOnly, m.SubPath, StatusDir)
		}
	}
	s := a.Sidecar
	if s == nil {
		return append(out, "no init container "+SidecarName)
	}
	if s.RestartPolicy == nil || *s.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		bad("sidecar restartPolicy %v, want Always (a native sidecar)", s.RestartPolicy)
	}
	if !slices.Contains(s.Args, "--status-file="+StatusDir+"/status") {
		bad("sidecar args %q lack --status-file=%s/status", s.Args, StatusDir)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range s.Env {
		env[e.Name] = e
	}
	if v := env["LEASE_NAME"].Value; v != lease {
		bad("sidecar LEASE_NAME %q, want %q", v, lease)
	}
	if v, ok := env["LEADER_ELECTOR_RELEASE_DELAY"]; !ok || v.Value != "0" {
		bad("sidecar LEADER_ELECTOR_RELEASE_DELAY %q, want \"0\": the kubelet stops the app first", v.Value)
	}
	for name, path := range map[string]string{"POD_NAME": "metadata.name", "NAMESPACE": "metadata.namespace"} {
		if v := env[name].ValueFrom; v == nil || v.FieldRef == nil || v.FieldRef.FieldPath != path {
			bad("sidecar %s is not from the downward API's %s", name, path)
		}
	}
	if i := slices.IndexFunc(s.VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == VolumeName }); i < 0 ||
		s.VolumeMounts[i].MountPath != StatusDir || s.VolumeMounts[i].ReadOnly {
		bad("sidecar mounts %+v, want %s writable at %s", s.VolumeMounts, VolumeName, StatusDir)
	}
	for path, p := range map[string]*corev1.Probe{"/healthz": s.LivenessProbe, "/readyz": s.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
			bad("sidecar probe for %s is %+v", path, p)
			continue
		}
		if !slices.ContainsFunc(s.Ports, func(cp corev1.ContainerPort) bool {
			return cp.Name == p.HTTPGet.Port.String() && cp.ContainerPort == 4040
		}) {
			bad("sidecar probe %s goes to port %s, not the named port of 4040 (--http-addr)", path, p.HTTPGet.Port.String())
		}
	}
	return out
}

// cut removes the first element of *s that match selects and returns it;
// a slice left empty becomes nil, as the API server returns it.
func cut[T any](s *[]T, match func(T) bool) (T, bool) {
	i := slices.IndexFunc(*s, match)
	if i < 0 {
		var zero T
		return zero, false
	}
	v := (*s)[i]
	*s = slices.Delete(*s, i, i+1)
	if len(*s) == 0 {
		*s = nil
	}
	return v, true
}
