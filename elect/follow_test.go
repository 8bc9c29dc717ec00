package elect

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// What the shared Lease loop reports reaches the driver as watchEvents: a
// list or a change as a state of the Lease (absent when the list is empty
// or the Lease deleted), a failure as err, an answered call as answered.
func TestFollowedTranslatesTheLoop(t *testing.T) {
	var got []string
	f := followed{send: func(ev watchEvent) {
		switch {
		case ev.err != nil:
			got = append(got, "err "+ev.err.Error())
		case ev.answered:
			got = append(got, "answered")
		default:
			got = append(got, fmt.Sprintf("exists=%t rv=%s holder=%s obj=%t", ev.lease.Exists, ev.lease.RV, ev.lease.Record.Holder, ev.lease.Obj != nil))
		}
	}}
	holder := "a"
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", ResourceVersion: "7"}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
	f.Connection(nil)
	f.Replace(nil, "5")
	f.Replace([]*coordinationv1.Lease{l}, "8")
	f.Apply(watch.Modified, l)
	f.Apply(watch.Deleted, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", ResourceVersion: "9"}})
	f.Connection(errors.New("connection refused"))
	want := []string{
		"answered",
		"exists=false rv=5 holder= obj=false",
		"exists=true rv=7 holder=a obj=true",
		"exists=true rv=7 holder=a obj=true",
		"exists=false rv=9 holder= obj=false",
		"err connection refused",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
