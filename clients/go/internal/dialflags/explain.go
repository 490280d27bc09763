package dialflags

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/idcrpc/idc/clients/go/idc"
)

// ExitUsage is the exit status of a usage error or of a failure that has
// no gRPC status (an unreadable file, a bad flag value). It is also the
// code of UNKNOWN, which an idc server never sends.
const ExitUsage = 2

// codeNames are the canonical gRPC status code names, as grpcio and the
// gRPC documentation spell them (Go's codes.Code.String is CamelCase).
var codeNames = map[codes.Code]string{
	codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
	codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
	codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
	codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
	codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
}

// Report describes a failed command: the lines to print on stderr (the
// first says what went wrong and what to do, the others name the request
// fields at fault) and the exit status, which is the gRPC status code when
// err has one and [ExitUsage] otherwise. target and f are the connection
// the command used, for explaining transport failures.
func (f *Flags) Report(err error, target string) ([]string, int) {
	// status.FromError of a wrapped error puts the whole chain in the
	// message; the status itself has the server's words only.
	var withStatus interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &withStatus) || withStatus.GRPCStatus().Code() == codes.OK {
		return []string{"error: " + err.Error()}, ExitUsage
	}
	st := withStatus.GRPCStatus()
	msg := st.Message()
	if errors.Is(err, idc.ErrProtocol) || errors.Is(err, idc.ErrIntegrity) {
		msg = err.Error() // "get chart: idc: image integrity check failed: ..."
	}
	if st.Code() == codes.Unavailable {
		if hint := f.explainUnavailable(msg, target); hint != "" {
			msg = hint
		}
	}
	lines := []string{fmt.Sprintf("error: %s: %s", codeNames[st.Code()], msg)}
	for _, v := range idc.FieldViolations(err) {
		lines = append(lines, fmt.Sprintf("  %s: %s", v.GetField(), v.GetDescription()))
	}
	return lines, int(st.Code())
}

// secure reports whether the flags ask for TLS.
func (f *Flags) secure() bool { return f.TLS || f.CAFile != "" || f.CertFile != "" }

// explainUnavailable turns the transport's description of a failed
// connection into what the user should do, or returns "" when it does not
// recognise it. The same cases, with the same words, are in the Python
// client's CLI (idc_client.cli); clients/CLI.md lists them.
func (f *Flags) explainUnavailable(msg, target string) string {
	switch {
	case strings.Contains(msg, "connection refused"):
		return fmt.Sprintf("nothing listens on %s (connection refused): start idc-server there, or set --target or IDC_TARGET", target)
	case strings.Contains(msg, "first record does not look like a TLS handshake"):
		return fmt.Sprintf("%s does not serve TLS: drop --tls, --ca, --cert and --key", target)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "failed to verify certificate"):
		return fmt.Sprintf("the certificate of %s is not trusted or does not name it: "+
			"pass the CA that signed it with --ca FILE, and use a host name the certificate holds", target)
	case strings.Contains(msg, "error reading server preface") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "connection reset by peer"):
		switch {
		case !f.secure():
			return fmt.Sprintf("%s closed the connection: if it serves TLS, add --tls (or --ca FILE for a private CA)", target)
		case f.CertFile == "":
			return fmt.Sprintf("%s closed the connection after the TLS handshake: if it requires client certificates, add --cert FILE --key FILE", target)
		default:
			return fmt.Sprintf("%s closed the connection after the TLS handshake: it does not accept the certificate of --cert", target)
		}
	}
	return ""
}
