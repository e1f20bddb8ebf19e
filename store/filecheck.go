package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
)

// ErrCorrupt matches (errors.Is) a *CorruptError.
var ErrCorrupt = errors.New("store: state file is truncated or corrupt")

// CorruptError is a state file Open refuses: it is shorter than its meta
// page says, neither meta page is valid, or a page of its tree is not what
// its parent says it is. Open leaves the file as it found it.
type CorruptError struct {
	Path   string
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("state file %s is truncated or corrupt: %s; restore it from a backup or move it away", e.Path, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// The layout of bbolt's file (format version 2; go.etcd.io/bbolt's
// internal/common), read here without bbolt: every page starts with a
// 16-byte header (id u64, flags u16, count u16, overflow u32), in the
// machine's byte order.
const (
	boltMagic          = 0xED0CDAED
	boltVersion        = 2
	boltPageHeader     = 16
	boltElementSize    = 16 // a branch element (pos u32, ksize u32, pgid u64) or a leaf's (flags u32, pos u32, ksize u32, vsize u32)
	boltBucketHeader   = 16 // a bucket's value: root pgid u64, sequence u64, then an inline bucket's page
	boltBranchPage     = 0x01
	boltLeafPage       = 0x02
	boltMetaPage       = 0x04
	boltFreelistPage   = 0x10
	boltBucketLeafFlag = 0x01
	boltNoFreelist     = ^uint64(0)
	// boltMetaSum is how many bytes of the meta (after the page header)
	// its FNV-64a checksum covers: everything before the checksum.
	boltMetaSum = 56
)

var ne = binary.NativeEndian

// boltMeta is a meta page's fields.
type boltMeta struct {
	pageSize uint32
	root     uint64 // the root bucket's root page
	freelist uint64
	pgid     uint64 // the high-water mark: pages in use are below it
	txid     uint64
}

// parseMeta reads the meta page in b (which starts at its page header), as
// bbolt's Meta.Validate checks it, plus the bounds bbolt assumes.
func parseMeta(b []byte) (boltMeta, error) {
	if len(b) < boltPageHeader+boltMetaSum+8 {
		return boltMeta{}, errors.New("cut short")
	}
	m := b[boltPageHeader:]
	if magic := ne.Uint32(m[0:]); magic != boltMagic {
		return boltMeta{}, fmt.Errorf("no bbolt magic number (%#x)", magic)
	}
	if v := ne.Uint32(m[4:]); v != boltVersion {
		return boltMeta{}, fmt.Errorf("format version %d, not %d", v, boltVersion)
	}
	h := fnv.New64a()
	h.Write(m[:boltMetaSum])
	if sum := ne.Uint64(m[boltMetaSum:]); sum != h.Sum64() {
		return boltMeta{}, errors.New("checksum mismatch")
	}
	meta := boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		pgid:     ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}
	switch ps := meta.pageSize; {
	case ps < 512 || ps > 1<<24 || ps&(ps-1) != 0:
		return boltMeta{}, fmt.Errorf("page size %d", ps)
	case meta.pgid < 3:
		return boltMeta{}, fmt.Errorf("high-water mark %d", meta.pgid)
	case meta.root < 2 || meta.root >= meta.pgid:
		return boltMeta{}, fmt.Errorf("root page %d outside pages 2-%d", meta.root, meta.pgid-1)
	case meta.freelist != boltNoFreelist && (meta.freelist < 2 || meta.freelist >= meta.pgid):
		return boltMeta{}, fmt.Errorf("freelist page %d outside pages 2-%d", meta.freelist, meta.pgid-1)
	}
	return meta, nil
}

// checkFile looks at the state file at path before bbolt opens it, and
// returns a *CorruptError for one bbolt would fail on, or panic on in a
// goroutine of its own (which nothing can recover), as it rebuilds its
// freelist by walking the tree at open (the store does not sync the
// freelist). It reads the file and never writes it:
//
//   - the meta page bbolt would use (the one with the higher transaction
//     id that is valid: magic, version, checksum) and the file's size
//     against the pages that meta counts, which catches a truncated file;
//   - every page reachable from that meta (branch and leaf pages of every
//     bucket, inline buckets, the freelist page if there is one): that it
//     is below the high-water mark, names itself, has a branch or leaf
//     type, is referenced once, holds its elements and their keys and
//     values within its bytes, and keeps its keys in order. This reads each
//     page once, as bbolt's own walk does after it; it checks no order
//     across pages (bbolt's walk reports that as an error Open recovers).
//
// A missing file is a new one (Open has createFile make it). An empty one
// is refused: bbolt's first pages are in every state file berth made, and
// createFile never leaves one without them.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil // bbolt says what is wrong with a directory
	}
	if fi.Size() == 0 {
		return &CorruptError{Path: path, Reason: "it is empty (0 bytes), without even its meta pages"}
	}
	c := &fileChecker{f: f, size: fi.Size()}
	if reason := c.check(); reason != "" {
		return &CorruptError{Path: path, Reason: reason}
	}
	return nil
}

type fileChecker struct {
	f       *os.File
	size    int64
	meta    boltMeta
	ps      int64
	visited []uint64 // a bit per page below the high-water mark
	buf     []byte
}

// read returns n bytes at off, in a buffer reused by the next read.
func (c *fileChecker) read(off, n int64) ([]byte, error) {
	if int64(cap(c.buf)) < n {
		c.buf = make([]byte, n)
	}
	b := c.buf[:n]
	if _, err := c.f.ReadAt(b, off); err != nil {
		return nil, err
	}
	return b, nil
}

// check returns what is wrong with the file, or "".
func (c *fileChecker) check() string {
	if reason := c.chooseMeta(); reason != "" {
		return reason
	}
	need := int64(c.meta.pgid) * c.ps
	if c.size < need {
		return fmt.Sprintf("it is %d bytes, but its meta page (transaction %d) counts %d pages of %d bytes (%d bytes)",
			c.size, c.meta.txid, c.meta.pgid, c.ps, need)
	}
	c.visited = make([]uint64, (c.meta.pgid+63)/64)
	if c.meta.freelist != boltNoFreelist {
		if reason := c.checkFreelist(); reason != "" {
			return reason
		}
	}
	return c.walk(c.meta.root)
}

// chooseMeta finds the meta page bbolt would use: page 0's page size if
// page 0 is valid, else the first valid meta found at a page size's offset
// (as bbolt looks for page 1), then the valid meta of the higher
// transaction id.
func (c *fileChecker) chooseMeta() string {
	const probe = 0x1000 // bbolt reads this much of a meta page
	readMeta := func(off int64) (boltMeta, error) {
		n := min(int64(probe), c.size-off)
		if n <= 0 {
			return boltMeta{}, errors.New("beyond the end of the file")
		}
		b, err := c.read(off, n)
		if err != nil {
			return boltMeta{}, err
		}
		return parseMeta(b)
	}
	m0, err0 := readMeta(0)
	var ps int64
	if err0 == nil {
		ps = int64(m0.pageSize)
	} else {
		for i := range 15 {
			off := int64(1024) << i
			if off >= c.size-1024 {
				break
			}
			if m, err := readMeta(off); err == nil {
				ps = int64(m.pageSize)
				break
			}
		}
	}
	if ps == 0 {
		return fmt.Sprintf("neither meta page is valid (page 0: %v; no valid page 1 found)", err0)
	}
	if c.size < 2*ps {
		return fmt.Sprintf("it is %d bytes, shorter than its two meta pages of %d bytes", c.size, ps)
	}
	m1, err1 := readMeta(ps)
	switch {
	case err0 != nil && err1 != nil:
		return fmt.Sprintf("neither meta page is valid (page 0: %v; page 1: %v)", err0, err1)
	case err1 != nil || (err0 == nil && m0.txid >= m1.txid):
		c.meta = m0
	default:
		c.meta = m1
	}
	if int64(c.meta.pageSize) != ps {
		return fmt.Sprintf("its meta pages disagree on the page size (%d and %d)", ps, c.meta.pageSize)
	}
	c.ps = ps
	return ""
}

// mark records pages id to id+overflow as reachable.
func (c *fileChecker) mark(id uint64, overflow uint32, from uint64) string {
	end := id + uint64(overflow)
	if end >= c.meta.pgid || end < id {
		return fmt.Sprintf("page %d (from %s) runs over %d pages, past the high-water mark %d", id, fromPage(from), overflow+1, c.meta.pgid)
	}
	for p := id; p <= end; p++ {
		if c.visited[p/64]&(1<<(p%64)) != 0 {
			return fmt.Sprintf("page %d (from %s) is reached twice", p, fromPage(from))
		}
		c.visited[p/64] |= 1 << (p % 64)
	}
	return ""
}

// page reads page id, which page from references (0: the meta page),
// after checking its header names it, has flags, and fits below the
// high-water mark.
func (c *fileChecker) page(id, from uint64, flags uint16) ([]byte, string) {
	if id < 2 || id >= c.meta.pgid {
		return nil, fmt.Sprintf("page %d (from %s) is outside pages 2-%d", id, fromPage(from), c.meta.pgid-1)
	}
	h, err := c.read(int64(id)*c.ps, c.ps)
	if err != nil {
		return nil, fmt.Sprintf("page %d: %v", id, err)
	}
	if got := ne.Uint64(h[0:]); got != id {
		return nil, fmt.Sprintf("page %d (from %s) names itself page %d", id, fromPage(from), got)
	}
	if got := ne.Uint16(h[8:]); got != flags && (flags != boltBranchPage|boltLeafPage || (got != boltBranchPage && got != boltLeafPage)) {
		return nil, fmt.Sprintf("page %d (from %s) has type %#x, not %s", id, fromPage(from), got, pageType(flags))
	}
	overflow := ne.Uint32(h[12:])
	if reason := c.mark(id, overflow, from); reason != "" {
		return nil, reason
	}
	if overflow == 0 {
		return h, ""
	}
	b, err := c.read(int64(id)*c.ps, (int64(overflow)+1)*c.ps)
	if err != nil {
		return nil, fmt.Sprintf("page %d: %v", id, err)
	}
	return b, ""
}

// fromPage names the page that references another.
func fromPage(id uint64) string {
	if id == 0 {
		return "the meta page"
	}
	return fmt.Sprintf("page %d", id)
}

func pageType(flags uint16) string {
	switch flags {
	case boltFreelistPage:
		return "a freelist page"
	case boltMetaPage:
		return "a meta page"
	}
	return "a branch or leaf page"
}

func (c *fileChecker) checkFreelist() string {
	b, reason := c.page(c.meta.freelist, 0, boltFreelistPage)
	if reason != "" {
		return reason
	}
	n, start := uint64(ne.Uint16(b[10:])), uint64(boltPageHeader)
	if n == 0xFFFF { // the count is the first element
		if len(b) < boltPageHeader+8 {
			return fmt.Sprintf("freelist page %d is cut short", c.meta.freelist)
		}
		n, start = ne.Uint64(b[boltPageHeader:]), start+8
	}
	if n > (uint64(len(b))-start)/8 {
		return fmt.Sprintf("freelist page %d counts %d pages, more than it holds", c.meta.freelist, n)
	}
	for i := range n {
		if id := ne.Uint64(b[start+8*i:]); id < 2 || id >= c.meta.pgid {
			return fmt.Sprintf("freelist page %d frees page %d, outside pages 2-%d", c.meta.freelist, id, c.meta.pgid-1)
		}
	}
	return ""
}

// ref is a page to check, from the page that references it, with the
// range its keys must lie in (lo inclusive, hi exclusive; nil: unbounded),
// as bbolt's Tx.Check orders keys across a branch page's children.
type ref struct {
	id, from uint64
	lo, hi   []byte
}

// walk checks the tree of pages from root, the root bucket's root page,
// and the trees of the buckets in it.
func (c *fileChecker) walk(root uint64) string {
	stack := []ref{{id: root}}
	for len(stack) > 0 {
		r := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		b, reason := c.page(r.id, r.from, boltBranchPage|boltLeafPage)
		if reason != "" {
			return reason
		}
		if reason := checkElements(b, r, &stack); reason != "" {
			return reason
		}
	}
	return ""
}

// checkElements checks the elements of b, a branch or leaf page of the
// file (r.id) or an inline bucket's page (r.id 0, inside r.from), and
// pushes the pages they reference on stack: a branch page's children, and
// the root pages of the buckets in a leaf page.
func checkElements(b []byte, r ref, stack *[]ref) string {
	where := func() string {
		if r.id == 0 {
			return fmt.Sprintf("an inline bucket in page %d", r.from)
		}
		return fmt.Sprintf("page %d", r.id)
	}
	flags, count := ne.Uint16(b[8:]), int(ne.Uint16(b[10:]))
	if boltPageHeader+count*boltElementSize > len(b) {
		return fmt.Sprintf("%s counts %d elements, more than it holds", where(), count)
	}
	if flags == boltBranchPage && count == 0 {
		return where() + " is a branch page without elements"
	}
	elem := func(i int) (key, value []byte, ok bool) {
		e := boltPageHeader + i*boltElementSize
		var pos, ksize, vsize uint64
		if flags == boltBranchPage {
			pos, ksize = uint64(ne.Uint32(b[e:])), uint64(ne.Uint32(b[e+4:]))
		} else {
			pos, ksize, vsize = uint64(ne.Uint32(b[e+4:])), uint64(ne.Uint32(b[e+8:])), uint64(ne.Uint32(b[e+12:]))
		}
		k := uint64(e) + pos
		if k+ksize+vsize > uint64(len(b)) {
			return nil, nil, false
		}
		return b[k : k+ksize], b[k+ksize : k+ksize+vsize], true
	}
	var prev []byte
	for i := range count {
		k, v, ok := elem(i)
		if !ok {
			return fmt.Sprintf("%s: element %d runs past the page's end", where(), i)
		}
		switch {
		case i == 0 && r.lo != nil && bytes.Compare(k, r.lo) < 0:
			return fmt.Sprintf("%s: its first key is before its parent's", where())
		case i > 0 && bytes.Compare(prev, k) >= 0:
			return fmt.Sprintf("%s: key %d is not after key %d", where(), i, i-1)
		case r.hi != nil && bytes.Compare(k, r.hi) >= 0:
			return fmt.Sprintf("%s: key %d is not before its parent's next key", where(), i)
		}
		prev = k
		e := boltPageHeader + i*boltElementSize
		if flags == boltBranchPage {
			child := ref{id: ne.Uint64(b[e+8:]), from: r.id, lo: bytes.Clone(k), hi: r.hi}
			if i+1 < count {
				next, _, ok := elem(i + 1)
				if !ok {
					return fmt.Sprintf("%s: element %d runs past the page's end", where(), i+1)
				}
				child.hi = bytes.Clone(next)
			}
			*stack = append(*stack, child)
			continue
		}
		if ne.Uint32(b[e:])&boltBucketLeafFlag == 0 {
			continue
		}
		if len(v) < boltBucketHeader {
			return fmt.Sprintf("%s: bucket %q has a value of %d bytes", where(), k, len(v))
		}
		from := r.id
		if from == 0 {
			from = r.from
		}
		if root := ne.Uint64(v); root != 0 {
			*stack = append(*stack, ref{id: root, from: from})
			continue
		}
		inline := v[boltBucketHeader:]
		if len(inline) < boltPageHeader {
			return fmt.Sprintf("%s: inline bucket %q is cut short", where(), k)
		}
		if t := ne.Uint16(inline[8:]); t != boltLeafPage {
			return fmt.Sprintf("%s: inline bucket %q has type %#x, not a leaf page", where(), k, t)
		}
		if reason := checkElements(inline, ref{from: from}, stack); reason != "" {
			return reason
		}
	}
	return ""
}
