package idc

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"

	idcv1 "github.com/idcrpc/idc/clients/go/gen/idc/v1"
)

// receiveImage reads a GetMACDGraph stream to its end, writes the chunks to
// w, and checks them against the metadata of the first message.
func receiveImage(stream grpc.ServerStreamingClient[idcv1.GetMACDGraphResponse], w io.Writer) (*Image, error) {
	var (
		meta     *idcv1.ImageMetadata
		received int64
		hash     = sha256.New()
		sink     = io.MultiWriter(hash, w)
	)
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch p := msg.GetPayload().(type) {
		case *idcv1.GetMACDGraphResponse_Metadata:
			if meta != nil {
				return nil, fmt.Errorf("%w: metadata sent twice", ErrProtocol)
			}
			m := p.Metadata
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
		case *idcv1.GetMACDGraphResponse_Chunk:
			if meta == nil {
				return nil, fmt.Errorf("%w: chunk received before metadata", ErrProtocol)
			}
			if received+int64(len(p.Chunk)) > meta.GetSizeBytes() {
				return nil, fmt.Errorf("%w: received more than the %d bytes announced", ErrIntegrity, meta.GetSizeBytes())
			}
			if _, err := sink.Write(p.Chunk); err != nil {
				return nil, fmt.Errorf("write image: %w", err)
			}
			received += int64(len(p.Chunk))
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
		SHA256:    sum,
		Size:      received,
	}, nil
}
