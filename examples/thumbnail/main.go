// Command thumbnail is a Lambda function for berth (or AWS): a new image in
// an S3 bucket invokes it through the bucket's notification, and it writes
// a thumbnail of it to thumbnails/KEY in the bucket TARGET_BUCKET names.
// It reads PNG and JPEG, resizes by nearest neighbour to THUMBNAIL_WIDTH
// pixels wide (128 by default; never wider than the image), and writes the
// thumbnail in the image's own format. It calls S3 with aws-sdk-go-v2's
// default configuration: the execution role's credentials and, on berth,
// AWS_ENDPOINT_URL, from its environment. See README.md.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Prefix is where thumbnails go in the target bucket.
const Prefix = "thumbnails/"

// maxImageBytes bounds what is read of an object.
const maxImageBytes = 32 << 20

// Store is the part of S3 the function uses.
type Store interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Handler makes thumbnails.
type Handler struct {
	S3     Store
	Target string
	Width  int
}

// Handle makes a thumbnail of every object the event names, and returns
// the keys it wrote.
func (h Handler) Handle(ctx context.Context, ev events.S3Event) ([]string, error) {
	var wrote []string
	for _, rec := range ev.Records {
		bucket := rec.S3.Bucket.Name
		key, err := url.QueryUnescape(rec.S3.Object.Key) // S3 events carry keys URL-encoded
		if err != nil {
			return wrote, fmt.Errorf("object key %q: %w", rec.S3.Object.Key, err)
		}
		if bucket == h.Target && strings.HasPrefix(key, Prefix) {
			continue // a thumbnail of ours: no thumbnails of thumbnails
		}
		out, err := h.thumbnail(ctx, bucket, key)
		if err != nil {
			return wrote, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
		}
		wrote = append(wrote, out)
	}
	return wrote, nil
}

func (h Handler) thumbnail(ctx context.Context, bucket, key string) (string, error) {
	obj, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return "", err
	}
	defer obj.Body.Close()
	img, format, err := image.Decode(io.LimitReader(obj.Body, maxImageBytes))
	if err != nil {
		return "", fmt.Errorf("not a PNG or JPEG image: %w", err)
	}
	thumb := Resize(img, h.Width)
	var buf bytes.Buffer
	contentType := "image/png"
	if format == "jpeg" {
		contentType = "image/jpeg"
		err = jpeg.Encode(&buf, thumb, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&buf, thumb)
	}
	if err != nil {
		return "", err
	}
	out := Prefix + key
	_, err = h.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: &h.Target, Key: &out, Body: bytes.NewReader(buf.Bytes()),
		ContentType: &contentType, ContentLength: aws.Int64(int64(buf.Len()))})
	return out, err
}

// Resize scales img to width pixels wide (its height in proportion, at
// least 1) by nearest neighbour; an image no wider than width is copied as
// it is.
func Resize(img image.Image, width int) *image.RGBA {
	b := img.Bounds()
	if width <= 0 || width > b.Dx() {
		width = b.Dx()
	}
	height := max(b.Dy()*width/max(b.Dx(), 1), 1)
	out := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		sy := b.Min.Y + y*b.Dy()/height
		for x := range width {
			out.Set(x, y, img.At(b.Min.X+x*b.Dx()/width, sy))
		}
	}
	return out
}

// handlerFromEnv reads the function's variables.
func handlerFromEnv(ctx context.Context) (Handler, error) {
	target := os.Getenv("TARGET_BUCKET")
	if target == "" {
		return Handler{}, errors.New("TARGET_BUCKET is not set: name the bucket thumbnails go to")
	}
	width := 128
	if w := os.Getenv("THUMBNAIL_WIDTH"); w != "" {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 {
			return Handler{}, fmt.Errorf("THUMBNAIL_WIDTH: %q is not a positive number of pixels", w)
		}
		width = n
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return Handler{}, err
	}
	// Path-style: berth's front door is an address, not a domain buckets
	// are hosts of.
	cli := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	return Handler{S3: cli, Target: target, Width: width}, nil
}

func main() {
	h, err := handlerFromEnv(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "thumbnail:", err)
		os.Exit(1) // an init error: Lambda reports Runtime.ExitError
	}
	lambda.Start(h.Handle)
}
