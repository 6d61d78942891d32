package stacks

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// TestMain skips the package (CDK synthesis runs in Node through jsii) when node is
// not installed, and fails instead under CI=true.
func TestMain(m *testing.M) {
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "FAIL: the CDK tests need Node.js (apt-get install nodejs npm)")
			os.Exit(1)
		}
		fmt.Println("SKIP: the CDK tests need Node.js; install it with: apt-get install nodejs npm")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// synthesized is one preset's app, synthesized once per test binary: jsii synthesis
// takes seconds, and every test of a preset reads the same templates.
type synthesized struct {
	cfg      Config
	stacks   Stacks
	network  assertions.Template
	pipeline assertions.Template
}

var (
	bundleOnce sync.Once
	bundleDir  string
	bundleErr  error
	synthMu    sync.Mutex
	synthCache = map[string]*synthesized{}
)

// lambdaCode bundles the real Lambdas (ingest, NAT hook) once per test binary. With
// FLOWQ_INFRA_STUB_LAMBDA=1 (not under CI) it uses a placeholder bootstrap instead,
// for quick iterations on the templates while the root module is mid-change.
func lambdaCode(t *testing.T) Bundles {
	t.Helper()
	bundleOnce.Do(func() {
		if os.Getenv("FLOWQ_INFRA_STUB_LAMBDA") == "1" && os.Getenv("CI") != "true" {
			bundleDir, bundleErr = os.MkdirTemp("", "flowq-stub-lambda")
			if bundleErr == nil {
				bundleErr = os.WriteFile(filepath.Join(bundleDir, "bootstrap"), []byte("stub"), 0o755)
			}
			return
		}
		wd, err := os.Getwd()
		if err != nil {
			bundleErr = err
			return
		}
		bundleDir = filepath.Join(filepath.Dir(wd), ".build")
		_, bundleErr = BuildBundles(filepath.Dir(filepath.Dir(wd)), bundleDir)
	})
	if bundleErr != nil {
		t.Fatal(bundleErr)
	}
	code := func(name string) awslambda.Code {
		if _, err := os.Stat(filepath.Join(bundleDir, "bootstrap")); err == nil {
			return awslambda.Code_FromAsset(jsii.String(bundleDir), nil) // the stub
		}
		return awslambda.Code_FromAsset(jsii.String(filepath.Join(bundleDir, name)), nil)
	}
	return Bundles{Ingest: code("ingest-lambda"), NATHook: code("nat-hook"), Inventory: code("inventory-lambda")}
}

// testCertificateARN is an ACM certificate ARN in region, for synthesizing the
// network without -c domain.
func testCertificateARN(region string) string {
	return "arn:aws:acm:" + region + ":123456789012:certificate/11111111-2222-3333-4444-555555555555"
}

// synth builds the app of a preset with the given context (nil: defaults).
func synth(t *testing.T, preset string, context map[string]string) *synthesized {
	t.Helper()
	key := preset
	for k, v := range context {
		key += "," + k + "=" + v
	}
	synthMu.Lock()
	defer synthMu.Unlock()
	if s, ok := synthCache[key]; ok {
		return s
	}
	ctx := map[string]string{"preset": preset}
	for k, v := range context {
		ctx[k] = v
	}
	if ctx["certificateArn"] == "" && ctx["domain"] == "" && ctx["vpcId"] == "" && ctx["flowLogGroup"] == "" {
		region := ctx["region"]
		if region == "" {
			region = Presets[preset].Region
		}
		ctx["certificateArn"] = testCertificateARN(region)
	}
	cfg, err := ConfigFromContext(func(k string) (string, bool) { v, ok := ctx[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	appCtx := AppContext()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &appCtx})
	st := Build(app, cfg, lambdaCode(t))
	s := &synthesized{cfg: cfg, stacks: st, pipeline: assertions.Template_FromStack(st.Pipeline.Stack, nil)}
	if st.Network != nil {
		s.network = assertions.Template_FromStack(st.Network.Stack, nil)
	}
	synthCache[key] = s
	return s
}
