package fuzz

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// The "go test fuzz v1" corpus file format of Go's native fuzzing, for a
// target with one []byte argument: the header line, then []byte("...").

const corpusHeader = "go test fuzz v1"

// MarshalCorpusFile writes data as a go test fuzz v1 file, as
// golang.org/x/tools/cmd/file2fuzz does.
func MarshalCorpusFile(data []byte) []byte {
	return []byte(fmt.Sprintf("%s\n[]byte(%q)\n", corpusHeader, data))
}

// UnmarshalCorpusFile reads a go test fuzz v1 file with one []byte or
// string value.
func UnmarshalCorpusFile(b []byte) ([]byte, error) {
	text := string(b)
	head, rest, _ := strings.Cut(text, "\n")
	if strings.TrimSpace(head) != corpusHeader {
		return nil, fmt.Errorf("1:1: not a %q file", corpusHeader)
	}
	var values []string
	for i, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		expr, err := parser.ParseExpr(line)
		if err != nil {
			return nil, fmt.Errorf("%d:1: %v", i+2, err)
		}
		v, err := literal(expr)
		if err != nil {
			return nil, fmt.Errorf("%d:1: %v", i+2, err)
		}
		values = append(values, v)
	}
	if len(values) != 1 {
		return nil, fmt.Errorf("1:1: want one []byte or string value, found %d", len(values))
	}
	return []byte(values[0]), nil
}

// literal evaluates []byte("...") or string("...").
func literal(e ast.Expr) (string, error) {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return "", fmt.Errorf("want []byte(...) or string(...)")
	}
	switch fn := call.Fun.(type) {
	case *ast.ArrayType:
		if id, ok := fn.Elt.(*ast.Ident); !ok || fn.Len != nil || (id.Name != "byte" && id.Name != "uint8") {
			return "", fmt.Errorf("want []byte(...)")
		}
	case *ast.Ident:
		if fn.Name != "string" {
			return "", fmt.Errorf("unsupported type %s (want []byte or string)", fn.Name)
		}
	default:
		return "", fmt.Errorf("want []byte(...) or string(...)")
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", fmt.Errorf("want a string literal")
	}
	return strconv.Unquote(lit.Value)
}

// CorpusFileName names a corpus file by its content, as Go's fuzzer does:
// the first 16 hex digits of its SHA-256.
func CorpusFileName(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])[:16]
}
