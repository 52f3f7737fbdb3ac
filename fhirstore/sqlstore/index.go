package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"hpsandbox/fhirstore/fhirjson"
	"hpsandbox/fhirstore/searchparam"
)

// indexTable is one table of search index rows: its name and the columns
// that follow indexCommonCols.
type indexTable struct {
	name string
	cols []string
	// notKey is the one column, if any, outside the table's key.
	notKey string
}

// The index tables, in the order of indexTables.
const (
	tabString = iota
	tabToken
	tabReference
	tabDate
	tabNumber
	tabQuantity
	tabURI
	// tabSort holds a resource's sort key of each parameter, derived from
	// its rows in the tables above (see sortRows).
	tabSort
	numIndexTables
)

var indexTables = [numIndexTables]indexTable{
	tabString:    {"idx_string", []string{"norm", "exact"}, ""},
	tabToken:     {"idx_token", []string{"system", "code", "text", "type_system", "type_code"}, ""},
	tabReference: {"idx_reference", []string{"target_type", "target_id", "version", "url", "id_system", "id_value"}, ""},
	tabDate:      {"idx_date", []string{"span", "low", "high"}, ""},
	tabNumber:    {"idx_number", []string{"value", "low", "high"}, "value"},
	tabQuantity:  {"idx_quantity", []string{"value", "low", "high", "system", "code", "unit"}, "value"},
	tabURI:       {"idx_uri", []string{"value"}, ""},
	tabSort:      {"idx_sort", []string{"lo", "hi"}, ""},
}

// insertSizes are the row counts of the prepared multi-row INSERTs; a
// resource's rows for one table go in as few of them as add up to the count.
// One statement of many rows costs SQLite little more than one of one row.
var insertSizes = [...]int{16, 8, 7, 6, 5, 4, 3, 2, 1}

const numCommonCols = 6 // sandbox, rid, type, param, grp, comp

func indexInsertStmt(table, size int) stmt {
	return stIndexInsert + stmt(table*len(insertSizes)+size)
}

// insertSQL is the INSERT of n rows into the table. A row that is already
// there (a value repeated in one resource) is skipped. The conflict clause
// also means the statement can never abort half-way, so SQLite keeps no
// statement journal for it, which otherwise costs a temp-file write per page.
func (it indexTable) insertSQL(d Dialect, n int) string {
	cols := numCommonCols + len(it.cols)
	one := "(" + strings.Repeat("?, ", cols-1) + "?)"
	verb, tail := "INSERT OR IGNORE INTO ", ""
	if d.Name != "sqlite" {
		verb, tail = "INSERT INTO ", " ON CONFLICT DO NOTHING"
	}
	return verb + it.name + ` (sandbox, rid, type, param, grp, comp, ` + strings.Join(it.cols, ", ") +
		`) VALUES ` + strings.Repeat(one+", ", n-1) + one + tail
}

// deleteSQL deletes the rows of one key whatever their composite group. The
// group is the one key column that is not the row's value: it numbers the
// composites of a resource, so a row extracted again may carry another
// number than when it was written (by an earlier release, whose extraction
// counted other composites), and all rows of the resource go anyway.
//
// idx_sort's rows are deleted by rid alone (see dropIndex): a resource has
// one per parameter, whatever values an earlier release derived.
func (it indexTable) deleteSQL() string {
	if it.name == indexTables[tabSort].name {
		return `DELETE FROM idx_sort WHERE rid = ?`
	}
	conds := []string{"sandbox = ?", "rid = ?", "type = ?", "param = ?", "comp = ?"}
	for _, c := range it.cols {
		if c != it.notKey {
			conds = append(conds, c+" = ?")
		}
	}
	return `DELETE FROM ` + it.name + ` WHERE ` + strings.Join(conds, " AND ")
}

// grpCol is the position of grp among the common columns.
const grpCol = 4

var extractors sync.Map // resource type → *searchparam.Extractor

// extract returns the index rows of body that the store writes: not those
// of the parameters skipParam drops, which it does not compute.
func extract(typ string, body []byte) (*searchparam.Index, error) {
	e, ok := extractors.Load(typ)
	if !ok {
		x, err := searchparam.NewExtractor(typ, func(p *searchparam.Param) bool { return !skipParam(typ, p.Code) })
		if err != nil {
			return nil, err
		}
		e, _ = extractors.LoadOrStore(typ, x)
	}
	return e.(*searchparam.Extractor).Extract(body)
}

// appendIndexRows flattens an Index into the values of each table's rows,
// the common columns included, and appends them to out. It returns the
// number of rows.
//
// With textKeys, the sort keys of numbers and dates are written as text
// (see sortKeyValue).
func appendIndexRows(out *[numIndexTables][]any, sandbox string, rid int64, x *searchparam.Index, textKeys bool) int {
	// The values every row repeats are boxed once.
	sb, id, typ := any(sandbox), any(rid), any(x.ResourceType)
	common := func(tab int, param string, group, comp int) {
		out[tab] = append(out[tab], sb, id, typ, param, group, comp)
	}
	for _, r := range x.Strings {
		common(tabString, r.Param, r.Group, r.Component)
		out[tabString] = append(out[tabString], r.Normalized, r.Exact)
	}
	for _, r := range x.Tokens {
		common(tabToken, r.Param, r.Group, r.Component)
		out[tabToken] = append(out[tabToken], r.System, r.Code, r.Text, r.TypeSystem, r.TypeCode)
	}
	for _, r := range x.References {
		common(tabReference, r.Param, r.Group, r.Component)
		out[tabReference] = append(out[tabReference], r.TargetType, r.TargetID, r.Version, r.URL, r.IdentifierSystem, r.IdentifierValue)
	}
	for _, r := range x.Dates {
		common(tabDate, r.Param, r.Group, r.Component)
		out[tabDate] = append(out[tabDate], dateSpan(r.Low, r.High), r.Low, r.High)
	}
	for _, r := range x.Numbers {
		common(tabNumber, r.Param, r.Group, r.Component)
		v, lo, hi := pointOrRange(r.Value, r.Low, r.High)
		out[tabNumber] = append(out[tabNumber], v, lo, hi)
	}
	for _, r := range x.Quantities {
		common(tabQuantity, r.Param, r.Group, r.Component)
		v, lo, hi := pointOrRange(r.Value, r.Low, r.High)
		out[tabQuantity] = append(out[tabQuantity], v, lo, hi, r.System, r.Code, r.Unit)
	}
	for _, r := range x.URIs {
		common(tabURI, r.Param, r.Group, r.Component)
		out[tabURI] = append(out[tabURI], r.Value)
	}
	keys := sortRows(x)
	for _, k := range keys {
		common(tabSort, k.param, 0, 0)
		out[tabSort] = append(out[tabSort], sortKeyValue(textKeys, k.lo), sortKeyValue(textKeys, k.hi))
	}
	return len(x.Strings) + len(x.Tokens) + len(x.References) + len(x.Dates) + len(x.Numbers) + len(x.Quantities) + len(x.URIs) + len(keys)
}

// sortKeyRow is a resource's sort key of one parameter: the least value a
// sort ascending reads and the greatest a sort descending reads (the
// columns of sortColumn).
type sortKeyRow struct {
	param  string
	lo, hi any
}

// sortRows derives the sort keys of the plain (not composite) parameters
// of x, but of tokens, references and URIs: a sort reads those from their
// own tables (see sortSource).
func sortRows(x *searchparam.Index) []sortKeyRow {
	var out []sortKeyRow
	for _, r := range x.Strings {
		if r.Group == 0 {
			out = widen(out, r.Param, r.Normalized, r.Normalized)
		}
	}
	for _, r := range x.Dates {
		if r.Group == 0 {
			out = widen(out, r.Param, r.Low, r.High)
		}
	}
	for _, r := range x.Numbers {
		if r.Group == 0 {
			_, lo, hi := pointOrRange(r.Value, r.Low, r.High)
			out = widen(out, r.Param, lo, hi)
		}
	}
	for _, r := range x.Quantities {
		if r.Group == 0 {
			_, lo, hi := pointOrRange(r.Value, r.Low, r.High)
			out = widen(out, r.Param, lo, hi)
		}
	}
	return out
}

// widen takes lo and hi of param into keys: a resource has few parameters,
// so a scan finds its row.
func widen[T cmp.Ordered](keys []sortKeyRow, param string, lo, hi T) []sortKeyRow {
	for i := range keys {
		if keys[i].param == param {
			keys[i].lo = min(keys[i].lo.(T), lo)
			keys[i].hi = max(keys[i].hi.(T), hi)
			return keys
		}
	}
	return append(keys, sortKeyRow{param: param, lo: lo, hi: hi})
}

// pointOrRange gives the stored value, low and high of a number or quantity.
// A value as written is matched as that exact value (the search value's
// precision makes the range, as the specification asks), so its low and high
// are the value itself; a Range keeps its bounds and has no value.
func pointOrRange(value string, low, high float64) (any, float64, float64) {
	if value == "" {
		return nil, low, high
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return nil, low, high
	}
	return v, v, v
}

// maxPending bounds the resources whose index rows a transaction holds back.
const maxPending = 512

// pendingIndex is the index of one written version, being extracted beside
// the writer.
type pendingIndex struct {
	sandbox string
	rid     int64
	typ     string
	body    []byte
	// claimed is set by whichever goroutine extracts: the one started for
	// it, or the writer when it needs the rows before that one ran.
	claimed atomic.Bool
	done    chan struct{}
	x       *searchparam.Index
	err     error
}

// extract extracts p's index unless another goroutine claimed it first.
func (p *pendingIndex) extract() {
	if !p.claimed.CompareAndSwap(false, true) {
		return
	}
	defer close(p.done)
	defer func() {
		if v := recover(); v != nil {
			p.err = fmt.Errorf("extraction of %s failed: %v", p.typ, v)
		}
	}()
	p.x, p.err = extract(p.typ, p.body)
}

// wait returns once p's index is extracted. An extraction whose goroutine
// has not started yet the writer does itself: under load a new goroutine
// queues behind every runnable request, and the writer, which every
// writer of the store waits for, would wait with it.
func (p *pendingIndex) wait() {
	p.extract()
	<-p.done
}

// drop returns once nothing extracts p's index any more; an extraction
// not yet started never starts.
func (p *pendingIndex) drop() {
	if p.claimed.CompareAndSwap(false, true) {
		close(p.done)
		return
	}
	<-p.done
}

// writeIndex has the search values of a stored version extracted on
// another goroutine, so that the writer goes on with the next write, and
// queues them for rid. flushIndex inserts the rows, of many resources in
// one statement; the transaction flushes before anything of its own reads
// the index (see flushing) and before it commits.
func (t *tx) writeIndex(ctx context.Context, sandbox string, rid int64, typ string, body []byte) error {
	t.s.wrote(1)
	t.written++
	if (t.written == analyzeAfter || t.written%analyzeInTx == 0) && t.sqlTx != nil && t.s.d.Analyze != "" {
		if err := t.analyze(ctx); err != nil {
			return err
		}
	}
	p := &pendingIndex{sandbox: sandbox, rid: rid, typ: typ, body: body, done: make(chan struct{})}
	t.pending = append(t.pending, p)
	if x := t.pre; x != nil && x.ResourceType == typ {
		// Extracted by the caller before its write was queued.
		t.pre = nil
		p.x = x
		p.claimed.Store(true)
		close(p.done)
		if len(t.pending) >= maxPending {
			return t.flushIndex(ctx)
		}
		return nil
	}
	select {
	case t.s.extracting <- struct{}{}:
		go func() {
			defer func() { <-t.s.extracting }()
			p.extract()
		}()
	default:
		// As many extractions run as there are processors: the
		// writer does this one when it flushes (wait).
	}
	if len(t.pending) >= maxPending {
		return t.flushIndex(ctx)
	}
	return nil
}

// preExtract extracts the index rows of a resource about to be written by
// a single write, on its caller's goroutine before the write is queued, so
// that the committer, which runs the writes of every caller one after the
// other, need not wait for them (see tx.pre). Stamping the body (fhirjson.Stamp)
// changes only its id, meta.versionId and meta.lastUpdated, which the
// store does not index (skipParam): the rows are those of the stored
// body. A body that fails or panics gives nil, and the committer extracts
// it again to answer the write with its error.
func preExtract(r *fhirjson.Resource) (x *searchparam.Index) {
	defer func() {
		if recover() != nil {
			x = nil
		}
	}()
	x, err := extract(r.Type, r.Body)
	if err != nil {
		return nil
	}
	return x
}

// settle waits for the extractions still running, which a transaction that
// ends without flushing leaves.
func (t *tx) settle() {
	for _, p := range t.pending {
		p.drop()
	}
}

// flushIndex inserts the index rows of the pending writes. A failure
// sticks: the transaction cannot commit.
func (t *tx) flushIndex(ctx context.Context) error {
	if t.flushErr != nil || len(t.pending) == 0 {
		return t.flushErr
	}
	// Inserting is writing: an interrupted insert would roll back the
	// whole (group) transaction, so the flush runs to its end even for a
	// caller that gave up; what it flushed goes with its savepoint.
	ctx = context.WithoutCancel(ctx)
	for _, p := range t.pending {
		p.wait()
		if p.err != nil {
			t.flushErr = t.wrap("index", p.err)
			return t.flushErr
		}
		appendIndexRows(&t.rows, p.sandbox, p.rid, p.x, t.s.d.TextSortKeys)
	}
	clear(t.pending)
	t.pending = t.pending[:0]
	if t.copy != nil {
		return t.copyIndex(ctx)
	}
	for tab := range t.rows {
		width := numCommonCols + len(indexTables[tab].cols)
		vals := t.rows[tab]
		for len(vals) > 0 {
			n := len(vals) / width
			j := 0
			for insertSizes[j] > n {
				j++
			}
			size := insertSizes[j]
			if _, err := t.stmt(ctx, indexInsertStmt(tab, j)).ExecContext(ctx, vals[:size*width]...); err != nil {
				t.flushErr = t.wrap("index "+indexTables[tab].name, err)
				return t.flushErr
			}
			vals = vals[size*width:]
		}
		clear(t.rows[tab])
		t.rows[tab] = t.rows[tab][:0]
	}
	return nil
}

// dropIndex deletes the index rows of rid, whose stored body is old: it
// extracts them again and deletes them by their key (most index tables have
// no index on rid; see the schema). It returns the index extracted, which
// the version keeps once archived (see archiveIndex).
func (t *tx) dropIndex(ctx context.Context, sandbox string, rid int64, typ string, old []byte) (*searchparam.Index, error) {
	if err := t.flushIndex(ctx); err != nil {
		return nil, err
	}
	x, err := extract(typ, old)
	if err != nil {
		return nil, t.wrap("unindex", err)
	}
	var rows [numIndexTables][]any
	appendIndexRows(&rows, sandbox, rid, x, t.s.d.TextSortKeys)
	for tab, it := range indexTables {
		width := numCommonCols + len(it.cols)
		skip := -1
		for i, c := range it.cols {
			if c == it.notKey {
				skip = numCommonCols + i
			}
		}
		st := t.stmt(ctx, stIndexDelete+stmt(tab))
		if tab == tabSort {
			if _, err := st.ExecContext(ctx, rid); err != nil {
				return nil, t.wrap("unindex "+it.name, err)
			}
			continue
		}
		args := make([]any, 0, width)
		for vals := rows[tab]; len(vals) > 0; vals = vals[width:] {
			args = args[:0]
			for i, v := range vals[:width] {
				if i != skip && i != grpCol {
					args = append(args, v)
				}
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return nil, t.wrap("unindex "+it.name, err)
			}
		}
	}
	return x, nil
}
