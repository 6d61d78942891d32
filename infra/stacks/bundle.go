package stacks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// IngestLambdaPackage is the ingest Lambda's main package in the root module.
const IngestLambdaPackage = "./cmd/ingest-lambda"

// BuildIngestLambda bundles the ingest Lambda locally with this machine's Go (no
// Docker): see BuildLambda.
func BuildIngestLambda(repoRoot, outDir string) error {
	return BuildLambda(repoRoot, IngestLambdaPackage, outDir)
}

// BuildLambda cross-compiles the main package pkg of the module at repoRoot for
// linux/arm64 without cgo, with -tags lambda.norpc for provided.al2023, into
// outDir/bootstrap. The build is reproducible (-trimpath, no VCS stamp), so the
// asset hash changes only when the code does.
func BuildLambda(repoRoot, pkg, outDir string) error {
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("bundle lambda %s: %w", pkg, err)
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-tags", "lambda.norpc",
		"-ldflags", "-s -w", "-o", filepath.Join(outDir, "bootstrap"), pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bundle lambda: go build %s: %w\n%s", pkg, err, out)
	}
	return nil
}
