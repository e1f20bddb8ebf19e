package pause

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"time"
)

// Path is the program's path in the image, and the image's entrypoint.
const Path = "/pause"

// epoch dates the image and its file, so that the same program always makes the same
// bytes, and so the same image ID on every machine.
var epoch = time.Unix(0, 0).UTC()

// image is the pause image for one architecture: its config and its one layer.
type image struct {
	config []byte // the image config (its sha256 is the image ID)
	layer  []byte // an uncompressed tar holding the program at Path
}

// imageConfig is the part of the OCI image config (as Docker reads it) that the
// image sets.
type imageConfig struct {
	Architecture string         `json:"architecture"`
	OS           string         `json:"os"`
	Created      time.Time      `json:"created"`
	Config       runConfig      `json:"config"`
	RootFS       rootFS         `json:"rootfs"`
	History      []historyEntry `json:"history"`
}

type runConfig struct {
	Entrypoint []string          `json:"Entrypoint"`
	Labels     map[string]string `json:"Labels"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type historyEntry struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
}

// newImage makes the image for arch, labelled berth.image=pause and with labels.
func newImage(arch string, labels map[string]string) (image, error) {
	prog, err := Program(arch)
	if err != nil {
		return image{}, err
	}
	layer, err := tarball([]tarFile{{name: Path[1:], mode: 0o755, data: prog}})
	if err != nil {
		return image{}, err
	}
	all := map[string]string{LabelImage: "pause"}
	maps.Copy(all, labels)
	config, err := json.Marshal(imageConfig{
		Architecture: arch, OS: "linux", Created: epoch,
		Config:  runConfig{Entrypoint: []string{Path}, Labels: all},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{"sha256:" + sha256Hex(layer)}},
		History: []historyEntry{{Created: epoch, CreatedBy: "berth: the pause program (agent/pause)"}},
	})
	return image{config: config, layer: layer}, err
}

// manifestEntry is one image of a `docker save` archive's manifest.json.
type manifestEntry struct {
	Config   string   `json:"Config"`
	RepoTags []string `json:"RepoTags"`
	Layers   []string `json:"Layers"`
}

// Archive returns the pause image for arch (a GOARCH name), labelled berth.image=pause
// and with labels, as a `docker save` archive that tags it ref, for the Docker Engine's
// image load (POST /images/load). It fails for an architecture with no program.
func Archive(ref, arch string, labels map[string]string) ([]byte, error) {
	img, err := newImage(arch, labels)
	if err != nil {
		return nil, err
	}
	configName := sha256Hex(img.config) + ".json"
	layerName := sha256Hex(img.layer) + "/layer.tar"
	manifest, err := json.Marshal([]manifestEntry{{Config: configName, RepoTags: []string{ref}, Layers: []string{layerName}}})
	if err != nil {
		return nil, err
	}
	return tarball([]tarFile{
		{name: "manifest.json", mode: 0o644, data: manifest},
		{name: configName, mode: 0o644, data: img.config},
		{name: layerName, mode: 0o644, data: img.layer},
	})
}

// tarFile is a regular file of a tar archive.
type tarFile struct {
	name string
	mode int64
	data []byte
}

// tarball is files as a tar archive, owned by root and dated epoch.
func tarball(files []tarFile) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)),
			ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
