package idc

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// imageResponse is a message of an image stream: GetMACDGraphResponse or
// GetChartResponse. Both have the oneof payload of metadata (field 1) and
// chunk (field 2).
type imageResponse interface {
	proto.Message
	GetMetadata() *idcv1.ImageMetadata
	GetChunk() []byte
}

// payloadKind is the name of the field set in msg's payload oneof,
// "metadata" or "chunk", or "" when none is set.
func payloadKind(msg imageResponse) protoreflect.Name {
	m := msg.ProtoReflect()
	oneof := m.Descriptor().Oneofs().ByName("payload")
	if oneof == nil {
		return ""
	}
	if fd := m.WhichOneof(oneof); fd != nil {
		return fd.Name()
	}
	return ""
}

// receiveImage reads an image stream (GetMACDGraph or GetChart) to its end
// by calling recv, writes the chunks to w, and checks them against the
// metadata of the first message.
func receiveImage[M imageResponse](recv func() (M, error), w io.Writer) (*Image, error) {
	var (
		meta     *idcv1.ImageMetadata
		received int64
		hash     = sha256.New()
		sink     = io.MultiWriter(hash, w)
	)
	for {
		msg, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch payloadKind(msg) {
		case "metadata":
			if meta != nil {
				return nil, fmt.Errorf("%w: metadata sent twice", ErrProtocol)
			}
			m := msg.GetMetadata()
			if m.GetSizeBytes() < 0 {
				return nil, fmt.Errorf("%w: metadata size_bytes is negative (%d)", ErrProtocol, m.GetSizeBytes())
			}
			if n := len(m.GetSha256()); n != sha256.Size {
				return nil, fmt.Errorf("%w: metadata sha256 has %d bytes, want %d", ErrProtocol, n, sha256.Size)
			}
			meta = m
			if buf, ok := w.(*bytes.Buffer); ok {
				buf.Grow(int(min(m.GetSizeBytes(), maxPrealloc)))
			}
		case "chunk":
			chunk := msg.GetChunk()
			if meta == nil {
				return nil, fmt.Errorf("%w: chunk received before metadata", ErrProtocol)
			}
			if received+int64(len(chunk)) > meta.GetSizeBytes() {
				return nil, fmt.Errorf("%w: received more than the %d bytes announced", ErrIntegrity, meta.GetSizeBytes())
			}
			if _, err := sink.Write(chunk); err != nil {
				return nil, fmt.Errorf("write image: %w", err)
			}
			received += int64(len(chunk))
		default:
			return nil, fmt.Errorf("%w: message has neither metadata nor chunk", ErrProtocol)
		}
	}
	if meta == nil {
		return nil, fmt.Errorf("%w: stream ended without metadata", ErrProtocol)
	}
	if received != meta.GetSizeBytes() {
		return nil, fmt.Errorf("%w: received %d bytes, metadata announced %d", ErrIntegrity, received, meta.GetSizeBytes())
	}
	sum := hash.Sum(nil)
	if !bytes.Equal(sum, meta.GetSha256()) {
		return nil, fmt.Errorf("%w: sha256 of the bytes is %x, metadata announced %x", ErrIntegrity, sum, meta.GetSha256())
	}
	return &Image{
		MediaType: meta.GetMediaType(),
		Width:     int(meta.GetWidthPx()),
		Height:    int(meta.GetHeightPx()),
		DPI:       int(meta.GetDpi()),
		SHA256:    sum,
		Size:      received,
	}, nil
}
