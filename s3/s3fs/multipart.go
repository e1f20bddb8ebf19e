package s3fs

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/johannesboyne/gofakes3"
)

// upload is a multipart upload's record (uploads/ID/upload.json).
type upload struct {
	Bucket    string            `json:"bucket"`
	Key       string            `json:"key"`
	Meta      map[string]string `json:"meta,omitempty"`
	Initiated time.Time         `json:"initiated"`
}

func (b *Backend) readUpload(bucketName, key string, id gofakes3.UploadID) (upload, error) {
	var u upload
	if strings.ContainsAny(string(id), `/\.`) || id == "" {
		return u, gofakes3.ErrNoSuchUpload
	}
	raw, err := os.ReadFile(b.path("uploads", string(id), "upload.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return u, gofakes3.ErrNoSuchUpload
	} else if err != nil {
		return u, err
	}
	if err := json.Unmarshal(raw, &u); err != nil {
		return u, err
	}
	if u.Bucket != bucketName || u.Key != key {
		return u, gofakes3.ErrNoSuchUpload
	}
	return u, nil
}

// CreateMultipartUpload starts an upload.
func (b *Backend) CreateMultipartUpload(bucketName, key string, meta map[string]string) (gofakes3.UploadID, error) {
	if ok, _ := b.BucketExists(bucketName); !ok {
		return "", gofakes3.BucketNotFound(bucketName)
	}
	id := randomID()
	raw, _ := json.Marshal(upload{Bucket: bucketName, Key: key, Meta: storedMeta(meta), Initiated: b.now().UTC()})
	tmp, err := os.MkdirTemp(b.path("tmp"), "u-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "upload.json"), raw, 0o600); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := commit(tmp, b.path("uploads", id)); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return gofakes3.UploadID(id), nil
}

// UploadPart stores a part, replacing one of the same number.
func (b *Backend) UploadPart(bucketName, key string, id gofakes3.UploadID, partNumber int, contentLength int64, input io.Reader) (string, error) {
	if _, err := b.readUpload(bucketName, key, id); err != nil {
		return "", err
	}
	tmp, h, err := b.write(header{Key: key, Modified: b.now().UTC()}, input, contentLength)
	if err != nil {
		return "", err
	}
	if err := commit(tmp, b.path("uploads", string(id), strconv.Itoa(partNumber))); err != nil {
		os.Remove(tmp)
		if errors.Is(err, fs.ErrNotExist) {
			return "", gofakes3.ErrNoSuchUpload // aborted meanwhile
		}
		return "", err
	}
	return `"` + h.MD5 + `"`, nil
}

// part is a stored part's header.
func (b *Backend) part(id gofakes3.UploadID, n int) (header, int64, error) {
	f, err := os.Open(b.path("uploads", string(id), strconv.Itoa(n)))
	if err != nil {
		return header{}, 0, err
	}
	defer f.Close()
	return readHeader(f)
}

// parts lists the part numbers of an upload in order.
func (b *Backend) parts(id gofakes3.UploadID) ([]int, error) {
	ents, err := os.ReadDir(b.path("uploads", string(id)))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out, nil
}

// CompleteMultipartUpload joins the listed parts into the object, with S3's
// checks: parts in ascending order, each uploaded with the ETag given, each
// but the last at least 5 MiB.
func (b *Backend) CompleteMultipartUpload(bucketName, key string, id gofakes3.UploadID, input *gofakes3.CompleteMultipartUploadRequest) (gofakes3.VersionID, string, error) {
	b.uploads.Lock()
	defer b.uploads.Unlock()
	u, err := b.readUpload(bucketName, key, id)
	if err != nil {
		return "", "", err
	}
	if len(input.Parts) == 0 {
		return "", "", gofakes3.ErrorMessage(gofakes3.ErrMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema")
	}
	type src struct {
		h   header
		off int64
		n   int
	}
	var srcs []src
	etags := md5.New()
	for i, p := range input.Parts {
		if i > 0 && p.PartNumber <= input.Parts[i-1].PartNumber {
			return "", "", gofakes3.ErrorMessage(gofakes3.ErrInvalidPartOrder, "The list of parts was not in ascending order. Parts must be ordered by part number.")
		}
	}
	for i, p := range input.Parts {
		h, off, err := b.part(id, p.PartNumber)
		if err != nil || strings.Trim(p.ETag, `"`) != h.MD5 {
			return "", "", gofakes3.ErrorMessage(gofakes3.ErrInvalidPart,
				"One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
		}
		if i < len(input.Parts)-1 && h.Size < MinPartSize {
			return "", "", gofakes3.ErrorMessage(ErrEntityTooSmall, "Your proposed upload is smaller than the minimum allowed object size.")
		}
		sum, _ := hex.DecodeString(h.MD5)
		etags.Write(sum)
		srcs = append(srcs, src{h, off, p.PartNumber})
	}
	etag := fmt.Sprintf("%s-%d", hex.EncodeToString(etags.Sum(nil)), len(input.Parts))
	pr, pw := io.Pipe()
	go func() {
		for _, s := range srcs {
			f, err := os.Open(b.path("uploads", string(id), strconv.Itoa(s.n)))
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			_, err = io.Copy(pw, io.NewSectionReader(f, s.off, s.h.Size))
			f.Close()
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.Close()
	}()
	h := header{Key: key, Modified: b.now().UTC().Truncate(time.Second), Meta: u.Meta, ETag: `"` + etag + `"`}
	tmp, h, err := b.write(h, pr, -1)
	pr.Close()
	if err != nil {
		return "", "", err
	}
	if err := b.install(bucketName, key, tmp, h, nil); err != nil {
		return "", "", err
	}
	if err := os.RemoveAll(b.path("uploads", string(id))); err != nil {
		return "", "", err
	}
	return "", `"` + etag + `"`, nil
}

// AbortMultipartUpload forgets an upload and its parts.
func (b *Backend) AbortMultipartUpload(bucketName, key string, id gofakes3.UploadID) error {
	b.uploads.Lock()
	defer b.uploads.Unlock()
	if _, err := b.readUpload(bucketName, key, id); err != nil {
		return err
	}
	gone := b.path("tmp", "gone-"+randomID())
	if err := os.Rename(b.path("uploads", string(id)), gone); err != nil {
		return err
	}
	return os.RemoveAll(gone)
}

// ListMultipartUploads lists the bucket's uploads in progress by key.
func (b *Backend) ListMultipartUploads(bucketName string, marker *gofakes3.UploadListMarker, prefix gofakes3.Prefix, limit int64) (*gofakes3.ListMultipartUploadsResult, error) {
	if ok, _ := b.BucketExists(bucketName); !ok {
		return nil, gofakes3.BucketNotFound(bucketName)
	}
	ents, err := os.ReadDir(b.path("uploads"))
	if err != nil {
		return nil, err
	}
	out := &gofakes3.ListMultipartUploadsResult{Bucket: bucketName, MaxUploads: limit, Prefix: prefix.Prefix}
	for _, e := range ents {
		raw, err := os.ReadFile(b.path("uploads", e.Name(), "upload.json"))
		if err != nil {
			continue
		}
		var u upload
		if json.Unmarshal(raw, &u) != nil || u.Bucket != bucketName || !strings.HasPrefix(u.Key, prefix.Prefix) {
			continue
		}
		if marker != nil && (u.Key < marker.Object || (u.Key == marker.Object && e.Name() <= string(marker.UploadID))) {
			continue
		}
		out.Uploads = append(out.Uploads, gofakes3.ListMultipartUploadItem{Key: u.Key, UploadID: gofakes3.UploadID(e.Name()),
			StorageClass: "STANDARD", Initiated: gofakes3.NewContentTime(u.Initiated)})
	}
	sort.Slice(out.Uploads, func(i, j int) bool {
		a, c := out.Uploads[i], out.Uploads[j]
		return a.Key < c.Key || (a.Key == c.Key && a.UploadID < c.UploadID)
	})
	if limit > 0 && int64(len(out.Uploads)) > limit {
		out.Uploads = out.Uploads[:limit]
		out.IsTruncated = true
		last := out.Uploads[len(out.Uploads)-1]
		out.NextKeyMarker, out.NextUploadIDMarker = last.Key, last.UploadID
	}
	return out, nil
}

// ListParts lists an upload's parts after marker.
func (b *Backend) ListParts(bucketName, key string, id gofakes3.UploadID, marker int, limit int64) (*gofakes3.ListMultipartUploadPartsResult, error) {
	if _, err := b.readUpload(bucketName, key, id); err != nil {
		return nil, err
	}
	nums, err := b.parts(id)
	if err != nil {
		return nil, err
	}
	out := &gofakes3.ListMultipartUploadPartsResult{Bucket: bucketName, Key: key, UploadID: id, MaxParts: limit, PartNumberMarker: marker, StorageClass: "STANDARD"}
	for _, n := range nums {
		if n <= marker {
			continue
		}
		if limit > 0 && int64(len(out.Parts)) == limit {
			out.IsTruncated = true
			break
		}
		h, _, err := b.part(id, n)
		if err != nil {
			continue
		}
		out.Parts = append(out.Parts, gofakes3.ListMultipartUploadPartItem{PartNumber: n, LastModified: gofakes3.NewContentTime(h.Modified),
			ETag: `"` + h.MD5 + `"`, Size: h.Size})
		out.NextPartNumberMarker = n
	}
	return out, nil
}
