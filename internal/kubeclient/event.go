package kubeclient

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// Event is a core/v1 Event as leader-elector records it, with the JSON
// names of k8s.io/api/core/v1.Event. That type is not used: importing the
// core group's package at all links every kind of it (its scheme builder
// refers to them all), two fifths of the sidecar's code, where it only
// ever sends this.
type Event struct {
	metav1.TypeMeta    `json:",inline"`
	metav1.ObjectMeta  `json:"metadata"`
	InvolvedObject     ObjectReference `json:"involvedObject"`
	Reason             string          `json:"reason,omitempty"`
	Message            string          `json:"message,omitempty"`
	Source             EventSource     `json:"source,omitempty"`
	FirstTimestamp     metav1.Time     `json:"firstTimestamp,omitempty"`
	LastTimestamp      metav1.Time     `json:"lastTimestamp,omitempty"`
	Count              int32           `json:"count,omitempty"`
	Type               string          `json:"type,omitempty"`
	ReportingComponent string          `json:"reportingComponent,omitempty"`
	ReportingInstance  string          `json:"reportingInstance,omitempty"`
}

// ObjectReference is the part of core/v1's that names the involved object.
type ObjectReference struct {
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// EventSource is core/v1's EventSource.
type EventSource struct {
	Component string `json:"component,omitempty"`
	Host      string `json:"host,omitempty"`
}

// EventClient creates Events in one namespace.
type EventClient struct {
	client    rest.Interface
	namespace string
}

// Events is the v1 Event client of namespace.
func (c *Clients) Events(namespace string) *EventClient {
	return &EventClient{client: c.core, namespace: namespace}
}

// Create sends e as JSON; what the server stored is not read back.
func (c *EventClient) Create(ctx context.Context, e *Event) error {
	e.APIVersion, e.Kind = "v1", "Event"
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", e.Name, err)
	}
	return c.client.Post().Namespace(c.namespace).Resource("events").
		SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error()
}
