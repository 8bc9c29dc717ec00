package tui

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/util/jsonpath"

	"github.com/leader-elector/leader-elector/watch"
)

// TableRow is one Lease of `watch --once`: the object the API server
// returned, the watch's judgement of it, and the context it is from.
type TableRow = watch.ContextLease

// GetOptions are kubectl get's output flags, for watch --once.
type GetOptions struct {
	// Output is -o: "" (the table), wide, json, yaml, name, and
	// jsonpath=, jsonpath-file=, go-template=, go-template-file=
	// (template=, templatefile=), custom-columns=, custom-columns-file=.
	Output string
	// NoHeaders, ShowLabels, LabelColumns (-L) and SortBy are kubectl's
	// flags of those names.
	NoHeaders    bool
	ShowLabels   bool
	LabelColumns []string
	SortBy       string
	// Contexts adds a CONTEXT column first (several contexts watched);
	// Namespaces a NAMESPACE column (-A, or contexts that watch different
	// namespaces).
	Contexts   bool
	Namespaces bool
	// Single prints one Lease as the object itself rather than a List of
	// one (kubectl get lease NAME).
	Single bool
}

// IsTable tells whether o prints the table (the formats that say "No
// resources found" when there is nothing to print).
func (o GetOptions) IsTable() bool {
	return o.Output == "" || o.Output == "wide" || strings.HasPrefix(o.Output, "custom-columns")
}

// ValidateOutput checks an -o value of --once and reads the template it
// names, so that a bad one is refused before the API server is asked.
// The error names the fix.
func ValidateOutput(output string) error {
	_, err := newPrinter(GetOptions{Output: output})
	return err
}

// Validate checks every output flag: -o (see ValidateOutput) and
// --sort-by's JSONPath.
func (o GetOptions) Validate() error {
	if err := ValidateOutput(o.Output); err != nil {
		return err
	}
	if o.SortBy != "" {
		if _, err := parseJSONPath("--sort-by", o.SortBy); err != nil {
			return err
		}
	}
	return nil
}

// WriteLeases prints rows as `kubectl get leases` does in opts.Output:
// the table (ages judged at now, on our clock, every API string inert),
// a List in JSON or YAML, resource/name lines, or a template of the List.
// Rows print in the order given, or sorted by opts.SortBy.
func WriteLeases(w io.Writer, rows []TableRow, now time.Time, opts GetOptions) error {
	if opts.SortBy != "" {
		if err := sortRows(rows, opts.SortBy); err != nil {
			return err
		}
	}
	p, err := newPrinter(opts)
	if err != nil {
		return err
	}
	if opts.Output == "" || opts.Output == "wide" {
		return p.PrintObj(leaseTable(rows, now, opts), w)
	}
	list, err := leaseList(rows)
	if err != nil {
		return err
	}
	if opts.Single && len(list.Items) == 1 && !strings.HasPrefix(opts.Output, "custom-columns") {
		return p.PrintObj(&list.Items[0], w)
	}
	return p.PrintObj(list, w)
}

// newPrinter is cli-runtime's printer for opts.Output, as kubectl picks it.
func newPrinter(opts GetOptions) (printers.ResourcePrinter, error) {
	format, arg, hasArg := strings.Cut(opts.Output, "=")
	template := func() (string, error) {
		if !hasArg || arg == "" {
			return "", fmt.Errorf("-o %s needs a template: -o %s=TEMPLATE", format, format)
		}
		if !strings.HasSuffix(format, "-file") && format != "templatefile" {
			return arg, nil
		}
		b, err := os.ReadFile(arg)
		if err != nil {
			return "", fmt.Errorf("-o %s: cannot read the template: %w; pass a readable file", format, err)
		}
		return string(b), nil
	}
	switch format {
	case "", "wide":
		if hasArg {
			break
		}
		return printers.NewTablePrinter(printers.PrintOptions{
			NoHeaders: opts.NoHeaders, Wide: format == "wide",
			ShowLabels: opts.ShowLabels, ColumnLabels: opts.LabelColumns,
		}), nil
	case "json":
		if !hasArg {
			return &printers.JSONPrinter{}, nil
		}
	case "yaml":
		if !hasArg {
			return &printers.YAMLPrinter{}, nil
		}
	case "name":
		if !hasArg {
			return &printers.NamePrinter{}, nil
		}
	case "jsonpath", "jsonpath-file", "jsonpath-as-json":
		t, err := template()
		if err != nil {
			return nil, err
		}
		p, err := printers.NewJSONPathPrinter(t)
		if err != nil {
			return nil, fmt.Errorf("-o %s: %w; see kubectl's JSONPath syntax, e.g. '{.items[*].spec.holderIdentity}'", format, err)
		}
		p.AllowMissingKeys(true)
		p.EnableJSONOutput(format == "jsonpath-as-json")
		return p, nil
	case "go-template", "go-template-file", "template", "templatefile":
		t, err := template()
		if err != nil {
			return nil, err
		}
		p, err := printers.NewGoTemplatePrinter([]byte(t))
		if err != nil {
			return nil, fmt.Errorf("-o %s: %w; fix the template", format, err)
		}
		p.AllowMissingKeys(true)
		return p, nil
	case "custom-columns", "custom-columns-file":
		t, err := template()
		if err != nil {
			return nil, err
		}
		return newCustomColumns(t, format == "custom-columns-file", opts.NoHeaders)
	}
	return nil, fmt.Errorf("unknown -o %q: use one of json, yaml, name, wide, jsonpath=..., jsonpath-file=..., go-template=..., go-template-file=..., custom-columns=..., custom-columns-file=... (as kubectl get), or tui", opts.Output)
}

// leaseTable is the table kubectl's printer shows: our columns, the Lease
// as each row's object (for --show-labels and -L).
func leaseTable(rows []TableRow, now time.Time, opts GetOptions) *metav1.Table {
	t := &metav1.Table{}
	col := func(name string, priority int32) {
		t.ColumnDefinitions = append(t.ColumnDefinitions, metav1.TableColumnDefinition{Name: name, Type: "string", Priority: priority})
	}
	if opts.Contexts {
		col("CONTEXT", 0)
	}
	if opts.Namespaces {
		col("NAMESPACE", 0)
	}
	for _, name := range []string{"NAME", "HOLDER", "STATUS", "RENEWED", "EXPIRES", "TRANSITIONS", "AGE"} {
		col(name, 0)
	}
	for _, name := range []string{"DURATION", "ACQUIRED", "PREFERRED", "CANDIDATES"} {
		col(name, 1) // -o wide
	}
	for i := range rows {
		l := &rows[i].Lease
		var cells []any
		if opts.Contexts {
			cells = append(cells, Inert(rows[i].Context))
		}
		if opts.Namespaces {
			cells = append(cells, Inert(l.Namespace))
		}
		cells = append(cells, Inert(l.Name), orDash(Inert(l.Holder)), onceState(l, now),
			onceRenewed(l, now), onceExpires(l, now), strconv.Itoa(int(l.Transitions)),
			agoCell(now, rows[i].Object.CreationTimestamp.Time),
			durationCell(l), agoCell(now, l.AcquireTime), orNoneTag(Inert(l.PreferredHolder)), strconv.Itoa(len(l.Candidates)))
		obj := inertLabels(&rows[i].Object)
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: obj}})
	}
	return t
}

// inertLabels is a copy of l whose labels (shown by --show-labels and -L)
// are inert.
func inertLabels(l *coordinationv1.Lease) *coordinationv1.Lease {
	c := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: l.Name, Namespace: l.Namespace}}
	if len(l.Labels) > 0 {
		c.Labels = make(map[string]string, len(l.Labels))
		for k, v := range l.Labels {
			c.Labels[Inert(k)] = Inert(v)
		}
	}
	return c
}

// leaseList is kubectl's List of the Leases, as JSON, YAML, names and
// templates see it.
func leaseList(rows []TableRow) (*unstructured.UnstructuredList, error) {
	list := &unstructured.UnstructuredList{Object: map[string]any{
		"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""},
	}}
	for i := range rows {
		o, err := leaseObject(&rows[i].Object)
		if err != nil {
			return nil, err
		}
		list.Items = append(list.Items, unstructured.Unstructured{Object: o})
	}
	return list, nil
}

// leaseObject is l as kubectl shows it: apiVersion and kind set, without
// managedFields.
func leaseObject(l *coordinationv1.Lease) (map[string]any, error) {
	c := l.DeepCopy()
	c.APIVersion, c.Kind = "coordination.k8s.io/v1", "Lease"
	c.ManagedFields = nil
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding lease %s/%s: %w", l.Namespace, l.Name, err)
	}
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("encoding lease %s/%s: %w", l.Namespace, l.Name, err)
	}
	return o, nil
}

// sortRows sorts rows stably by a JSONPath of the Lease, as kubectl's
// --sort-by: numbers as numbers, times and the rest as text (RFC 3339
// times sort as text), a missing field first.
func sortRows(rows []TableRow, expr string) error {
	jp, err := parseJSONPath("--sort-by", expr)
	if err != nil {
		return err
	}
	keys := make([]string, len(rows))
	nums := make([]*float64, len(rows))
	for i := range rows {
		o, err := leaseObject(&rows[i].Object)
		if err != nil {
			return err
		}
		v, err := jsonPathValue(jp, o)
		if err != nil {
			return err
		}
		keys[i] = v
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			nums[i] = &f
		}
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		if nums[a] != nil && nums[b] != nil {
			return cmp.Compare(*nums[a], *nums[b])
		}
		return strings.Compare(keys[a], keys[b])
	})
	sorted := make([]TableRow, len(rows))
	for i, j := range idx {
		sorted[i] = rows[j]
	}
	copy(rows, sorted)
	return nil
}

// parseJSONPath parses a kubectl field path: {.spec.x} or .spec.x.
func parseJSONPath(flag, expr string) (*jsonpath.JSONPath, error) {
	if !strings.HasPrefix(expr, "{") {
		if !strings.HasPrefix(expr, ".") {
			expr = "." + expr
		}
		expr = "{" + expr + "}"
	}
	jp := jsonpath.New(flag).AllowMissingKeys(true)
	if err := jp.Parse(expr); err != nil {
		return nil, fmt.Errorf("%s %q: %w; give a JSONPath such as .spec.renewTime", flag, expr, err)
	}
	return jp, nil
}

// jsonPathValue is the text of the first value jp finds in o, "" when none.
func jsonPathValue(jp *jsonpath.JSONPath, o map[string]any) (string, error) {
	results, err := jp.FindResults(o)
	if err != nil || len(results) == 0 || len(results[0]) == 0 {
		return "", nil
	}
	v := results[0][0]
	if !v.CanInterface() {
		return "", nil
	}
	switch x := v.Interface().(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
}

// customColumns is kubectl's -o custom-columns=HEADER:.json.path,...
type customColumns struct {
	headers   []string
	paths     []*jsonpath.JSONPath
	noHeaders bool
}

func newCustomColumns(spec string, file, noHeaders bool) (*customColumns, error) {
	c := &customColumns{noHeaders: noHeaders}
	var pairs []string
	if file {
		// The file's first line names the columns, its second their paths.
		lines := strings.Split(strings.TrimSpace(spec), "\n")
		if len(lines) != 2 {
			return nil, fmt.Errorf("-o custom-columns-file: want two lines, the headers and their JSONPaths")
		}
		heads, paths := strings.Fields(lines[0]), strings.Fields(lines[1])
		if len(heads) != len(paths) {
			return nil, fmt.Errorf("-o custom-columns-file: %d headers and %d JSONPaths; give one path per header", len(heads), len(paths))
		}
		for i := range heads {
			pairs = append(pairs, heads[i]+":"+paths[i])
		}
	} else {
		pairs = strings.Split(spec, ",")
	}
	for _, pair := range pairs {
		head, path, ok := strings.Cut(pair, ":")
		if !ok || head == "" || path == "" {
			return nil, fmt.Errorf("-o custom-columns: %q is not HEADER:JSONPATH; e.g. -o custom-columns=NAME:.metadata.name,HOLDER:.spec.holderIdentity", pair)
		}
		jp, err := parseJSONPath("-o custom-columns", path)
		if err != nil {
			return nil, err
		}
		c.headers = append(c.headers, head)
		c.paths = append(c.paths, jp)
	}
	return c, nil
}

// PrintObj prints one row per item of a List, kubectl's <none> for a
// missing field, every value inert.
func (c *customColumns) PrintObj(obj runtime.Object, w io.Writer) error {
	list, ok := obj.(*unstructured.UnstructuredList)
	if !ok {
		return fmt.Errorf("custom columns print a list, not %T", obj)
	}
	tw := printers.GetNewTabWriter(w)
	if !c.noHeaders {
		fmt.Fprintln(tw, strings.Join(c.headers, "\t"))
	}
	for _, item := range list.Items {
		cells := make([]string, len(c.paths))
		for i, jp := range c.paths {
			v, err := jsonPathValue(jp, item.Object)
			if err != nil {
				return err
			}
			cells[i] = cmp.Or(Inert(v), "<none>")
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}
