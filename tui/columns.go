package tui

// colID names a table column.
type colID int

const (
	colContext colID = iota
	colNamespace
	colName
	colHolder
	colStatus
	colHeld
	colRenewed
	colExpires
	colTransitions
	colHeartbeat
	numCols
)

// colSpec is a column's title, width range and how early it is dropped when
// the terminal is narrow (higher drop goes first).
type colSpec struct {
	title    string
	min, max int
	drop     int
	right    bool
}

var colSpecs = [numCols]colSpec{
	colContext:     {title: "CONTEXT", min: 7, max: 24, drop: 2},
	colNamespace:   {title: "NAMESPACE", min: 9, max: 24, drop: 2},
	colName:        {title: "NAME", min: 14, max: 48, drop: 0},
	colHolder:      {title: "HOLDER", min: 14, max: 48, drop: 1},
	colStatus:      {title: "STATUS", min: 9, max: 9, drop: 0},
	colHeld:        {title: "HELD", min: 6, max: 6, drop: 4},
	colRenewed:     {title: "RENEWED", min: 9, max: 9, drop: 2},
	colExpires:     {title: "EXPIRES", min: 9, max: 14, drop: 1},
	colTransitions: {title: "TRANS", min: 5, max: 5, drop: 3, right: true},
	colHeartbeat:   {title: "HEARTBEAT", min: 10, max: 20, drop: 5},
}

const (
	colGap    = 2 // spaces between columns
	markWidth = 2 // "▶ " before the selected row
)

// columns picks the columns that fit in width and their widths: drop the
// least needed until the minimums fit, then widen name, holder, namespace
// (to their longest value), the countdown bar and the heartbeat.
func (t *tableView) columns(width int) (ids []colID, widths []int) {
	for id := colID(0); id < numCols; id++ {
		if id == colNamespace && !t.c.opts.AllNamespaces || id == colContext && !t.c.multi {
			continue
		}
		ids = append(ids, id)
	}
	total := func() int {
		n := markWidth
		for _, id := range ids {
			n += colSpecs[id].min + colGap
		}
		return n - colGap
	}
	for total() > width && len(ids) > 1 {
		worst := 0
		for i, id := range ids {
			if colSpecs[id].drop >= colSpecs[ids[worst]].drop {
				worst = i
			}
		}
		ids = append(ids[:worst], ids[worst+1:]...)
	}
	w := t.store.widest
	want := map[colID]int{colName: w.name, colHolder: w.holder, colNamespace: w.ns, colContext: w.ctx}
	// A whole holder beats a heartbeat: drop the optional columns (held
	// for, transitions, heartbeat) while names and holders are cut.
	for {
		deficit := 0
		for _, id := range ids {
			if t, ok := want[id]; ok {
				deficit += max(0, min(t, colSpecs[id].max)-colSpecs[id].min)
			}
		}
		worst := -1
		for i, id := range ids {
			if colSpecs[id].drop >= 3 && (worst < 0 || colSpecs[id].drop > colSpecs[ids[worst]].drop) {
				worst = i
			}
		}
		if deficit <= width-total() || worst < 0 {
			break
		}
		ids = append(ids[:worst], ids[worst+1:]...)
	}
	widths = make([]int, len(ids))
	for i, id := range ids {
		widths[i] = colSpecs[id].min
	}
	spare := width - total()
	// Name, holder, namespace and context share the room a cell at a time, up to
	// their longest value, so none is cut while another has room to spare.
	for grew := true; spare > 0 && grew; {
		grew = false
		for i, id := range ids {
			if target := min(colSpecs[id].max, want[id]); spare > 0 && widths[i] < target {
				widths[i]++
				spare--
				grew = true
			}
		}
	}
	for _, grow := range []colID{colExpires, colHeartbeat} {
		for i, id := range ids {
			if id == grow && spare > 0 {
				add := min(spare, colSpecs[id].max-widths[i])
				widths[i] += add
				spare -= add
			}
		}
	}
	return ids, widths
}
