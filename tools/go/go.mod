// Pins the Go code generators that buf.gen.yaml runs. `go install tool`
// from this folder puts them on GOBIN.
module github.com/idcrpc/idc/tools/go

go 1.26

tool (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
	google.golang.org/protobuf/cmd/protoc-gen-go
)

require (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.6.2 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
