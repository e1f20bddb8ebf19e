// Package s3fs is S3's storage for berth: gofakes3's Backend and
// MultipartBackend over plain files in one directory, so that objects
// survive restarts and a write cut short leaves nothing behind.
//
// Each object is one file (a small JSON header, then the bytes), named by
// the SHA-256 of its key, written to a temporary file, synced and renamed
// into place: a reader sees the old object or the new one, never a part,
// and an upload killed midway leaves only a temporary file, removed at the
// next Open. Multipart uploads keep their parts as files of the same shape
// until they are completed (the parts are joined into one object file) or
// aborted. An index of keys in memory, rebuilt at Open from the headers,
// serves listings.
//
// Layout under the root: buckets/NAME/.bucket (the bucket's creation
// time), buckets/NAME/XX/SHA256 (its objects), uploads/ID/upload.json and
// uploads/ID/N (parts), tmp/ (files being written).
//
// s3fs starts no goroutines.
package s3fs

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// magic starts every object and part file.
var magic = []byte("BS3\x01")

// MinPartSize is the smallest part S3 accepts but for the last one.
const MinPartSize = 5 << 20

// Error codes gofakes3 does not name.
const (
	ErrBucketAlreadyOwnedByYou gofakes3.ErrorCode = "BucketAlreadyOwnedByYou"
	ErrEntityTooSmall          gofakes3.ErrorCode = "EntityTooSmall"
)

// header is what an object or part file holds before its bytes.
type header struct {
	Key      string            `json:"key"`
	Size     int64             `json:"size"`
	MD5      string            `json:"md5"`            // hex
	ETag     string            `json:"etag,omitempty"` // a multipart object's "HEX-N"
	Modified time.Time         `json:"modified"`
	Meta     map[string]string `json:"meta,omitempty"`
}

type entry struct {
	size     int64
	md5      []byte
	etag     string
	modified time.Time
}

// Backend stores buckets and objects under one directory.
type Backend struct {
	root string
	now  func() time.Time

	mu      sync.RWMutex
	buckets map[string]*bucket
	uploads sync.Mutex // serializes completing and aborting uploads
}

type bucket struct {
	created time.Time
	objects map[string]entry
}

var (
	_ gofakes3.Backend          = (*Backend)(nil)
	_ gofakes3.MultipartBackend = (*Backend)(nil)
)

// Open opens (making it if need be) the store under root, removes what
// writes cut short left, and indexes the objects.
func Open(root string, now func() time.Time) (*Backend, error) {
	if now == nil {
		now = time.Now
	}
	b := &Backend{root: root, now: now, buckets: map[string]*bucket{}}
	if err := os.RemoveAll(b.path("tmp")); err != nil {
		return nil, err
	}
	for _, d := range []string{"buckets", "uploads", "tmp"} {
		if err := os.MkdirAll(b.path(d), 0o700); err != nil {
			return nil, err
		}
	}
	names, err := os.ReadDir(b.path("buckets"))
	if err != nil {
		return nil, err
	}
	for _, d := range names {
		if err := b.load(d.Name()); err != nil {
			return nil, fmt.Errorf("s3fs: bucket %s: %w", d.Name(), err)
		}
	}
	return b, nil
}

func (b *Backend) path(parts ...string) string {
	return filepath.Join(append([]string{b.root}, parts...)...)
}

func keyFile(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(h[:2], h)
}

// load indexes one bucket's objects.
func (b *Backend) load(name string) error {
	raw, err := os.ReadFile(b.path("buckets", name, ".bucket"))
	if errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(b.path("buckets", name)) // never finished
	} else if err != nil {
		return err
	}
	bk := &bucket{objects: map[string]entry{}}
	if err := bk.created.UnmarshalText(bytes.TrimSpace(raw)); err != nil {
		return err
	}
	err = filepath.WalkDir(b.path("buckets", name), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".bucket" {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h, _, err := readHeader(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		bk.objects[h.Key] = h.entry()
		return nil
	})
	if err != nil {
		return err
	}
	b.buckets[name] = bk
	return nil
}

func (h header) entry() entry {
	sum, _ := hex.DecodeString(h.MD5)
	return entry{size: h.Size, md5: sum, etag: h.ETag, modified: h.Modified}
}

// readHeader reads a file's header and returns the offset of its bytes.
func readHeader(r io.Reader) (header, int64, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return header{}, 0, err
	}
	if !bytes.Equal(pre[:4], magic) {
		return header{}, 0, fmt.Errorf("not an s3fs file")
	}
	n := binary.BigEndian.Uint32(pre[4:])
	if n > 8<<20 {
		return header{}, 0, fmt.Errorf("header of %d bytes", n)
	}
	raw := make([]byte, n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return header{}, 0, err
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return header{}, 0, err
	}
	return h, int64(8 + n), nil
}

// write writes a file of h and the bytes of body to tmp, synced, and
// returns its path; h's Size and MD5 are what was read. size, when not
// negative, is the length body must have.
func (b *Backend) write(h header, body io.Reader, size int64) (string, header, error) {
	f, err := os.CreateTemp(b.path("tmp"), "w-")
	if err != nil {
		return "", h, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// The header's length is fixed before the bytes are known: the size and
	// digest are written last, in a header padded to its final length.
	h.Size, h.MD5 = 0, strings.Repeat("0", 32)
	raw, _ := json.Marshal(h)
	pad := 40 // room for the size's digits
	hdrLen := len(raw) + pad
	if _, err := f.Write(make([]byte, 8+hdrLen)); err != nil {
		return "", h, err
	}
	sum := md5.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, sum), 256<<10)
	n, err := io.Copy(w, body)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return "", h, err
	}
	if size >= 0 && n != size {
		return "", h, gofakes3.ErrIncompleteBody
	}
	h.Size, h.MD5 = n, hex.EncodeToString(sum.Sum(nil))
	raw, _ = json.Marshal(h)
	raw = append(raw, bytes.Repeat([]byte(" "), hdrLen-len(raw))...)
	pre := append(append([]byte{}, magic...), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(pre[4:], uint32(hdrLen))
	if _, err := f.WriteAt(append(pre, raw...), 0); err != nil {
		return "", h, err
	}
	if err := f.Sync(); err != nil {
		return "", h, err
	}
	if err := f.Close(); err != nil {
		return "", h, err
	}
	ok = true
	return f.Name(), h, nil
}

// commit renames tmp into place as dst, syncing dst's directory.
func commit(tmp, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return syncDir(filepath.Dir(dst))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// storedMeta keeps of the request's headers what S3 keeps of an object:
// its content headers and user metadata.
func storedMeta(meta map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range meta {
		switch ck := httpCanonical(k); {
		case ck == "Content-Type", ck == "Content-Disposition", ck == "Content-Encoding", ck == "Content-Language",
			ck == "Cache-Control", ck == "Expires", ck == "X-Amz-Website-Redirect-Location", ck == "X-Amz-Storage-Class",
			strings.HasPrefix(ck, "X-Amz-Meta-"):
			out[ck] = v
		}
	}
	return out
}

func httpCanonical(k string) string {
	parts := strings.Split(strings.ToLower(k), "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// ListBuckets lists the buckets by name.
func (b *Backend) ListBuckets() ([]gofakes3.BucketInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]gofakes3.BucketInfo, 0, len(b.buckets))
	for name, bk := range b.buckets {
		out = append(out, gofakes3.BucketInfo{Name: name, CreationDate: gofakes3.NewContentTime(bk.created)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// BucketExists says whether the bucket is there.
func (b *Backend) BucketExists(name string) (bool, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.buckets[name] != nil, nil
}

// ObjectCount is how many objects the bucket holds (ok false: no bucket).
func (b *Backend) ObjectCount(name string) (n int, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	bk := b.buckets[name]
	if bk == nil {
		return 0, false
	}
	return len(bk.objects), true
}

// CreateBucket makes a bucket; one that is there is
// BucketAlreadyOwnedByYou (berth has one account).
func (b *Backend) CreateBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[name] != nil {
		return gofakes3.ResourceError(ErrBucketAlreadyOwnedByYou, name)
	}
	tmp, err := os.MkdirTemp(b.path("tmp"), "b-")
	if err != nil {
		return err
	}
	now := b.now().UTC().Truncate(time.Millisecond)
	stamp, _ := now.MarshalText()
	if err := os.WriteFile(filepath.Join(tmp, ".bucket"), stamp, 0o600); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := commit(tmp, b.path("buckets", name)); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	b.buckets[name] = &bucket{created: now, objects: map[string]entry{}}
	return nil
}

// DeleteBucket removes an empty bucket.
func (b *Backend) DeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[name]
	if bk == nil {
		return gofakes3.BucketNotFound(name)
	}
	if len(bk.objects) > 0 {
		return gofakes3.ResourceError(gofakes3.ErrBucketNotEmpty, name)
	}
	return b.removeBucket(name)
}

// ForceDeleteBucket removes a bucket and its objects.
func (b *Backend) ForceDeleteBucket(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buckets[name] == nil {
		return gofakes3.BucketNotFound(name)
	}
	return b.removeBucket(name)
}

// removeBucket moves the bucket's directory aside, then removes it: a
// crash between leaves a directory in tmp, removed at the next Open.
func (b *Backend) removeBucket(name string) error {
	gone := b.path("tmp", "gone-"+randomID())
	if err := os.Rename(b.path("buckets", name), gone); err != nil {
		return err
	}
	delete(b.buckets, name)
	return os.RemoveAll(gone)
}

// ListBucket lists a page of the bucket's keys in order, with S3's prefix
// and delimiter rules.
func (b *Backend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	b.mu.RLock()
	bk := b.buckets[name]
	if bk == nil {
		b.mu.RUnlock()
		return nil, gofakes3.BucketNotFound(name)
	}
	var p, delim string
	if prefix != nil {
		p, delim = prefix.Prefix, prefix.Delimiter
	}
	type item struct {
		key string
		e   entry
	}
	items := make([]item, 0, len(bk.objects))
	for k, e := range bk.objects {
		if strings.HasPrefix(k, p) && (!page.HasMarker || k > page.Marker) {
			items = append(items, item{k, e})
		}
	}
	b.mu.RUnlock()
	sort.Slice(items, func(i, j int) bool { return items[i].key < items[j].key })
	out := gofakes3.NewObjectList()
	maxKeys := page.MaxKeys
	if maxKeys <= 0 {
		maxKeys = gofakes3.DefaultMaxBucketKeys
	}
	var n int64
	last := ""
	for i, it := range items {
		cp := ""
		if delim != "" {
			if j := strings.Index(it.key[len(p):], delim); j >= 0 {
				cp = it.key[:len(p)+j+len(delim)]
			}
		}
		if cp != "" && (cp == last || (page.HasMarker && cp <= page.Marker)) {
			continue
		}
		if n == maxKeys {
			out.IsTruncated = true
			out.NextMarker = last
			_ = i
			break
		}
		if cp != "" {
			out.AddPrefix(cp)
			last = cp
		} else {
			out.Add(&gofakes3.Content{Key: it.key, LastModified: gofakes3.NewContentTime(it.e.modified),
				ETag: it.e.etagText(), Size: it.e.size, StorageClass: "STANDARD"})
			last = it.key
		}
		n++
	}
	return out, nil
}

func (e entry) etagText() string {
	if e.etag != "" {
		return e.etag
	}
	return gofakes3.FormatETag(e.md5)
}

// ETagHeader is the metadata entry that carries a multipart object's ETag
// ("HEX-N") to the server, which sends it as the ETag header.
const ETagHeader = "X-Berth-Etag"

func (b *Backend) open(bucketName, key string) (*os.File, header, int64, error) {
	b.mu.RLock()
	bk := b.buckets[bucketName]
	_, ok := bk.objectsOK(key)
	b.mu.RUnlock()
	if bk == nil {
		return nil, header{}, 0, gofakes3.BucketNotFound(bucketName)
	}
	if !ok {
		return nil, header{}, 0, gofakes3.KeyNotFound(key)
	}
	f, err := os.Open(b.path("buckets", bucketName, keyFile(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, header{}, 0, gofakes3.KeyNotFound(key)
	} else if err != nil {
		return nil, header{}, 0, err
	}
	h, off, err := readHeader(bufio.NewReaderSize(io.NewSectionReader(f, 0, 1<<20), 4096))
	if err != nil {
		f.Close()
		return nil, header{}, 0, err
	}
	return f, h, off, nil
}

func (bk *bucket) objectsOK(key string) (entry, bool) {
	if bk == nil {
		return entry{}, false
	}
	e, ok := bk.objects[key]
	return e, ok
}

func (h header) object(key string) *gofakes3.Object {
	sum, _ := hex.DecodeString(h.MD5)
	meta := map[string]string{}
	for k, v := range h.Meta {
		meta[k] = v
	}
	meta["Last-Modified"] = h.Modified.UTC().Format(http1123)
	if h.ETag != "" {
		meta[ETagHeader] = h.ETag
	}
	return &gofakes3.Object{Name: key, Metadata: meta, Size: h.Size, Hash: sum}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// Contents are an object's bytes: a LimitedReader over its file, read
// from the object's offset, which the HTTP server can send with sendfile.
type Contents struct {
	*io.LimitedReader
	f *os.File
}

// Close closes the file.
func (c Contents) Close() error { return c.f.Close() }

// Reader is the LimitedReader over the file, for io.ReaderFrom.
func (c Contents) Reader() io.Reader { return c.LimitedReader }

// GetObject returns the object's bytes, or the range of them asked for.
func (b *Backend) GetObject(bucketName, key string, rangeRequest *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	f, h, off, err := b.open(bucketName, key)
	if err != nil {
		return nil, err
	}
	obj := h.object(key)
	rnge, err := rangeRequest.Range(h.Size)
	if err != nil {
		f.Close()
		return nil, err
	}
	start, length := int64(0), h.Size
	if rnge != nil {
		start, length = rnge.Start, rnge.Length
	}
	obj.Range = rnge
	if _, err := f.Seek(off+start, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	obj.Contents = Contents{&io.LimitedReader{R: f, N: length}, f}
	return obj, nil
}

// HeadObject returns the object's metadata.
func (b *Backend) HeadObject(bucketName, key string) (*gofakes3.Object, error) {
	f, h, _, err := b.open(bucketName, key)
	if err != nil {
		return nil, err
	}
	f.Close()
	obj := h.object(key)
	obj.Contents = io.NopCloser(bytes.NewReader(nil))
	return obj, nil
}

// Stat is an object's size and ETag (ok false: no such object).
func (b *Backend) Stat(bucketName, key string) (size int64, etag string, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e, ok := b.buckets[bucketName].objectsOK(key)
	return e.size, strings.Trim(e.etagText(), `"`), ok
}

// DeleteObject removes an object; a missing one is no error, as in S3.
func (b *Backend) DeleteObject(bucketName, key string) (gofakes3.ObjectDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return gofakes3.ObjectDeleteResult{}, b.deleteLocked(bucketName, key)
}

func (b *Backend) deleteLocked(bucketName, key string) error {
	bk := b.buckets[bucketName]
	if bk == nil {
		return gofakes3.BucketNotFound(bucketName)
	}
	if _, ok := bk.objects[key]; !ok {
		return nil
	}
	if err := os.Remove(b.path("buckets", bucketName, keyFile(key))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	delete(bk.objects, key)
	return nil
}

// DeleteMulti removes objects, reporting each.
func (b *Backend) DeleteMulti(bucketName string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out gofakes3.MultiDeleteResult
	for _, k := range keys {
		if err := b.deleteLocked(bucketName, k); err != nil {
			out.Error = append(out.Error, gofakes3.ErrorResult{Key: k, Code: gofakes3.ErrInternal, Message: err.Error()})
			continue
		}
		out.Deleted = append(out.Deleted, gofakes3.ObjectID{Key: k})
	}
	return out, nil
}

// PutObject writes an object whole, or not at all.
func (b *Backend) PutObject(bucketName, key string, meta map[string]string, input io.Reader, size int64, conditions *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	if ok, _ := b.BucketExists(bucketName); !ok {
		return gofakes3.PutObjectResult{}, gofakes3.BucketNotFound(bucketName)
	}
	h := header{Key: key, Modified: b.now().UTC().Truncate(time.Second), Meta: storedMeta(meta)}
	tmp, h, err := b.write(h, input, size)
	if err != nil {
		return gofakes3.PutObjectResult{}, err
	}
	return gofakes3.PutObjectResult{}, b.install(bucketName, key, tmp, h, conditions)
}

// install renames a written object into place and indexes it, if the
// bucket is still there and the conditions hold.
func (b *Backend) install(bucketName, key, tmp string, h header, conditions *gofakes3.PutConditions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[bucketName]
	if bk == nil {
		os.Remove(tmp)
		return gofakes3.BucketNotFound(bucketName)
	}
	if conditions != nil {
		e, ok := bk.objects[key]
		if err := gofakes3.CheckPutConditions(conditions, &gofakes3.ConditionalObjectInfo{Exists: ok, Hash: e.md5}); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	if err := commit(tmp, b.path("buckets", bucketName, keyFile(key))); err != nil {
		os.Remove(tmp)
		return err
	}
	bk.objects[key] = h.entry()
	return nil
}

// CopyObject copies an object: its metadata too, unless the request's
// x-amz-metadata-directive is REPLACE.
func (b *Backend) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	src, err := b.GetObject(srcBucket, srcKey, nil)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	defer src.Contents.Close()
	f, h, _, err := b.open(srcBucket, srcKey)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	f.Close()
	newMeta := h.Meta
	if strings.EqualFold(meta["X-Amz-Metadata-Directive"], "REPLACE") {
		newMeta = storedMeta(meta)
	}
	if ok, _ := b.BucketExists(dstBucket); !ok {
		return gofakes3.CopyObjectResult{}, gofakes3.BucketNotFound(dstBucket)
	}
	nh := header{Key: dstKey, Modified: b.now().UTC().Truncate(time.Second), Meta: newMeta}
	tmp, nh, err := b.write(nh, src.Contents, src.Size)
	if err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	if err := b.install(dstBucket, dstKey, tmp, nh, nil); err != nil {
		return gofakes3.CopyObjectResult{}, err
	}
	return gofakes3.CopyObjectResult{ETag: `"` + nh.MD5 + `"`, LastModified: gofakes3.NewContentTime(nh.Modified)}, nil
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
