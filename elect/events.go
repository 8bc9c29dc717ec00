package elect

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"github.com/leader-elector/leader-elector/internal/kubeclient"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// eventFlushWait bounds how long shutdown waits for Events still queued
// (the last "stopped leading"): an API server that does not answer must not
// hold up the exit.
const eventFlushWait = time.Second

// eventQueue is how many Events may wait to be sent; beyond it they are
// dropped (Events are for people reading, never for the election).
const eventQueue = 32

// eventSender records Events on the Lease ("<identity> became leader",
// "stopped leading", collision warnings) from a goroutine of its own, so
// the driver's loop never waits on the API server. It replaces client-go's
// record.EventBroadcaster, which needs the clientset's scheme of every API
// group; like its spam filter it lets 25 Events through at once and then
// one per 5 minutes, so a flapping replica cannot flood the namespace.
type eventSender struct {
	api     EventCreator
	cfg     Config
	timeout time.Duration
	log     *slog.Logger
	limit   *rate.Limiter
	queue   chan *kubeclient.Event
	done    chan struct{}
}

func newEventSender(api EventCreator, cfg Config, log *slog.Logger) *eventSender {
	s := &eventSender{
		api:     api,
		cfg:     cfg,
		timeout: RequestTimeout(cfg.RenewDeadline),
		log:     log,
		limit:   rate.NewLimiter(rate.Every(5*time.Minute), 25),
		queue:   make(chan *kubeclient.Event, eventQueue),
		done:    make(chan struct{}),
	}
	go s.run()
	return s
}

// send queues an Event on the Lease; it never blocks.
func (s *eventSender) send(eventType, reason, message string) {
	s.sendFor(s.cfg.LeaseName, eventType, reason, message)
}

// sendFor queues an Event on the Lease called lease (a shard's); it never
// blocks.
func (s *eventSender) sendFor(lease, eventType, reason, message string) {
	if !s.limit.Allow() {
		s.log.Debug("event dropped: too many", "reason", reason, "message", message)
		return
	}
	select {
	case s.queue <- s.event(time.Now(), lease, eventType, reason, message):
	default:
		s.log.Debug("event dropped: queue full", "reason", reason, "message", message)
	}
}

// event builds the Event as client-go's recorder does, so `kubectl
// events --for lease/NAME` and dashboards show it the same way.
func (s *eventSender) event(now time.Time, lease, eventType, reason, message string) *kubeclient.Event {
	t := metav1.NewTime(now)
	return &kubeclient.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", lease, now.UnixNano()),
			Namespace: s.cfg.Namespace,
		},
		InvolvedObject: kubeclient.ObjectReference{
			Kind:       "Lease",
			APIVersion: coordinationv1.SchemeGroupVersion.String(),
			Namespace:  s.cfg.Namespace,
			Name:       lease,
		},
		Reason:             reason,
		Message:            message,
		Type:               eventType,
		FirstTimestamp:     t,
		LastTimestamp:      t,
		Count:              1,
		Source:             kubeclient.EventSource{Component: "leader-elector"},
		ReportingComponent: "leader-elector",
		ReportingInstance:  s.cfg.Identity,
	}
}

func (s *eventSender) run() {
	defer close(s.done)
	for ev := range s.queue {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		if err := s.api.Create(ctx, ev); err != nil {
			s.log.Debug("recording an event failed", "reason", ev.Reason, "err", err)
		}
		cancel()
	}
}

// stop sends what is queued, waiting at most eventFlushWait. Call it once,
// after the last send.
func (s *eventSender) stop() {
	close(s.queue)
	select {
	case <-s.done:
	case <-time.After(eventFlushWait):
	}
}
