// A separate module that uses the Go client the way another project would,
// through its module path. The replace directive points at this repository's
// copy; a real consumer drops it and requires a released version.
module example.com/idc-consumer

go 1.26.0

require github.com/idcrpc/idc/clients/go v0.0.0

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260817212433-ac3dfec99bb1 // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/idcrpc/idc/clients/go => ../..
