package stacks

import (
	"fmt"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/callgraph/cha"
	"golang.org/x/tools/go/callgraph/vta"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// TestLeastPrivilege: each role that runs this repository's code holds exactly the
// IAM actions of the AWS calls that code can make (found by call-graph analysis of
// the Lambda as it is built), plus the few that AWS services make with the role on
// the function's behalf. A grant the code never uses fails the test, and so does a
// call without a grant. (Before: the ingest role held s3:GetObject on the lake,
// s3:ListBucket and dynamodb:PutItem, which the Lambda never calls.)
func TestLeastPrivilege(t *testing.T) {
	if testing.Short() {
		t.Skip("loads and analyses the whole Lambda program (about a minute)")
	}
	for _, tc := range []struct {
		name, pkg string
		ctx       map[string]string
		template  func(*synthesized) assertions.Template
		role      string // logical ID prefix of the role
		// byService: actions AWS services take with the role, and why.
		byService map[string]string
	}{
		{"ingest, S3 delivery read by the collector", IngestLambdaPackage, nil, func(s *synthesized) assertions.Template { return s.pipeline },
			"IngestFunctionRole", ingestByService},
		{"ingest, S3 notifications", IngestLambdaPackage, s3Context, func(s *synthesized) assertions.Template { return s.pipeline },
			"IngestFunctionRole", ingestByService},
		{"ingest, CloudWatch Logs delivery", IngestLambdaPackage, cwContext, func(s *synthesized) assertions.Template { return s.pipeline },
			"IngestFunctionRole", ingestByService},
		{"inventory sync", InventoryLambdaPackage, nil, func(s *synthesized) assertions.Template { return s.pipeline },
			InventoryRoleID, inventoryByService},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := map[string]bool{}
			excluded := map[string]bool{}
			for _, call := range sdkCalls(t, tc.pkg) {
				if _, ok := notCalled[tc.pkg][call]; ok {
					excluded[call] = true
					continue
				}
				for _, a := range iamActions(call) {
					want[a] = true
				}
			}
			// Requests the code signs itself (no SDK client): each must be listed.
			for _, fn := range signedBy(t, tc.pkg) {
				acts, ok := signedCalls[fn]
				if !ok {
					t.Errorf("%s signs its own AWS request: add its IAM actions to signedCalls", fn)
				}
				for _, a := range acts {
					want[a] = true
				}
			}
			for call := range notCalled[tc.pkg] {
				if !excluded[call] {
					t.Errorf("%s no longer reaches %s: drop it from notCalled", tc.pkg, call)
				}
			}
			for a := range tc.byService {
				want[a] = true
			}
			got := roleActions(t, tc.template(synth(t, "tradai", tc.ctx)), tc.role)
			diff(t, "role actions vs the code's calls", sorted(keys(got)), sorted(keys(want)))
		})
	}
}

// notCalled are calls the analysis reaches but the program cannot make, and why;
// each must still be reached, so an entry cannot go stale.
var notCalled = map[string]map[string]string{
	IngestLambdaPackage: {
		"cloudwatchlogs:FilterLogEvents": "internal/source's `cloudwatch:` input (flowq ingest), which the Lambda never opens: " +
			"its only input is source.S3Object, and CloudWatch Logs events arrive in the invocation payload; the analysis " +
			"merges the inputs' read functions",
	},
}

// signedCalls are the functions of this repository that sign an AWS request
// themselves (v4.Signer.SignHTTP, no SDK client) and the IAM actions they need.
var signedCalls = map[string][]string{
	// The EC2 Query API's DescribeNetworkInterfaces, called directly to keep the
	// Lambda small (internal/inventory/ec2query).
	"(*github.com/flowq/flowq/internal/inventory/ec2query.Client).Lookup": {"ec2:DescribeNetworkInterfaces"},
}

// inventoryByService are the inventory role's actions that AWS takes, not the code.
var inventoryByService = map[string]string{
	"logs:CreateLogStream": "Lambda writes the function's logs with its role",
	"logs:PutLogEvents":    "Lambda writes the function's logs with its role",
	"kms:GenerateDataKey":  "SNS encrypts the drift alerts the function publishes to the KMS-encrypted topic with the caller's rights",
	"kms:Decrypt":          "SNS needs it with GenerateDataKey for a KMS-encrypted topic",
}

// ingestByService are the ingest role's actions that AWS takes, not the code.
var ingestByService = map[string]string{
	"logs:CreateLogStream": "Lambda writes the function's logs with its role",
	"logs:PutLogEvents":    "Lambda writes the function's logs with its role",
	"sqs:SendMessage":      "Lambda sends failed asynchronous events to the on-failure queue with the function's role",
	"kms:GenerateDataKey":  "SNS encrypts what the function publishes to the KMS-encrypted topic with the caller's rights",
	"kms:Decrypt":          "SNS needs it with GenerateDataKey for a KMS-encrypted topic",
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Calls that need no grant on the role: the SDK's credential providers (they sign
// with other credentials or none), DynamoDB endpoint discovery (off unless
// configured) and S3 Express sessions (directory buckets only).
var noGrant = map[string]bool{"dynamodb:DescribeEndpoints": true, "s3:CreateSession": true}
var credentialServices = map[string]bool{"sts": true, "sso": true, "ssooidc": true, "signin": true}

// iamServices maps SDK package names to IAM service prefixes where they differ.
var iamServices = map[string]string{"cloudwatchlogs": "logs", "elasticloadbalancingv2": "elasticloadbalancing"}

// iamFor maps the SDK operations whose IAM action has another name.
var iamFor = map[string][]string{
	"s3:HeadObject": {"s3:GetObject"}, "s3:ListObjectsV2": {"s3:ListBucket"}, "s3:ListObjects": {"s3:ListBucket"},
	"s3:DeleteObjects": {"s3:DeleteObject"}, "s3:CopyObject": {"s3:GetObject", "s3:PutObject"},
	"s3:CreateMultipartUpload": {"s3:PutObject"}, "s3:UploadPart": {"s3:PutObject"}, "s3:CompleteMultipartUpload": {"s3:PutObject"},
	"sns:PublishBatch": {"sns:Publish"},
}

// iamActions returns the IAM actions an SDK call ("s3:GetObject") needs.
func iamActions(call string) []string {
	svc, op, _ := strings.Cut(call, ":")
	if credentialServices[svc] || noGrant[call] {
		return nil
	}
	if a, ok := iamFor[call]; ok {
		return a
	}
	if p, ok := iamServices[svc]; ok {
		svc = p
	}
	return []string{svc + ":" + op}
}

// roleActions collects the actions of every policy attached to the role (inline
// policies and AWS::IAM::Policy resources naming it).
func roleActions(t *testing.T, tmpl assertions.Template, rolePrefix string) map[string]bool {
	t.Helper()
	var role string
	for id := range resources(t, tmpl, "AWS::IAM::Role") {
		if strings.HasPrefix(id, rolePrefix) {
			role = id
		}
	}
	if role == "" {
		t.Fatalf("no role %s*", rolePrefix)
	}
	out := map[string]bool{}
	addDoc := func(doc any) {
		for _, st := range asList(doc.(map[string]any)["Statement"]) {
			if st["Effect"] != "Allow" {
				continue
			}
			acts, ok := st["Action"].([]any)
			if !ok {
				acts = []any{st["Action"]}
			}
			for _, a := range acts {
				out[a.(string)] = true
			}
		}
	}
	for _, p := range asList(resources(t, tmpl, "AWS::IAM::Role")[role]["Policies"]) {
		addDoc(p["PolicyDocument"])
	}
	for _, p := range resources(t, tmpl, "AWS::IAM::Policy") {
		for _, r := range p["Roles"].([]any) {
			if ref(r) == role {
				addDoc(p["PolicyDocument"])
			}
		}
	}
	if r := resources(t, tmpl, "AWS::IAM::Role")[role]; r["ManagedPolicyArns"] != nil {
		t.Errorf("%s has managed policies %v: their actions cannot be checked", role, r["ManagedPolicyArns"])
	}
	return out
}

var (
	sdkCallCache = map[string][]string{}
	signerCache  = map[string][]string{}
)

// signedBy returns the functions of this repository reachable in pkg that sign an
// AWS request themselves (see sdkCalls, which computes both).
func signedBy(t *testing.T, pkg string) []string {
	sdkCalls(t, pkg)
	return signerCache[pkg]
}

// sdkCalls returns the AWS API operations that the program pkg (a main package of
// the root module, built as the Lambda is: linux/arm64, no cgo, lambda.norpc) can
// reach from main, as "service:Operation" with the SDK package's name: every
// operation method of an AWS SDK v2 service client that the call graph (VTA over
// CHA, which follows calls through the code's own interfaces) reaches.
func sdkCalls(t *testing.T, pkg string) []string {
	t.Helper()
	if c, ok := sdkCallCache[pkg]; ok {
		return c
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedImports | packages.NeedDeps |
			packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo | packages.NeedTypesSizes,
		Dir: root,
		Env: append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64", "GOFLAGS=-tags=lambda.norpc", "GOWORK=off"),
	}
	pkgs, err := packages.Load(cfg, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if packages.PrintErrors(pkgs) > 0 {
		t.Fatalf("load %s: errors above", pkg)
	}
	prog, ssaPkgs := ssautil.AllPackages(pkgs, ssa.InstantiateGenerics)
	prog.Build()
	main := ssaPkgs[0]
	cg := vta.CallGraph(ssautil.AllFunctions(prog), cha.CallGraph(prog))
	reached := map[*ssa.Function]bool{}
	var walk func(n *callgraph.Node)
	walk = func(n *callgraph.Node) {
		if n == nil || reached[n.Func] {
			return
		}
		reached[n.Func] = true
		for _, e := range n.Out {
			walk(e.Callee)
		}
	}
	for _, f := range []string{"main", "init"} {
		walk(cg.Nodes[main.Func(f)])
	}
	const sdk = "github.com/aws/aws-sdk-go-v2/service/"
	seen, signers := map[string]bool{}, map[string]bool{}
	for fn := range reached {
		if svc, ok := sdkOperation(fn, sdk); ok {
			seen[svc+":"+fn.Name()] = true
		}
		if fn.Pkg != nil && strings.HasPrefix(fn.Pkg.Pkg.Path(), "github.com/flowq/flowq/") && signsRequests(fn) {
			signers[fn.String()] = true
		}
	}
	signerCache[pkg] = keys(signers)
	if len(seen) == 0 {
		t.Fatalf("%s: no AWS call found: the analysis is broken", pkg)
	}
	calls := keys(seen)
	sort.Strings(calls)
	t.Logf("%s calls %s", pkg, strings.Join(calls, " "))
	sdkCallCache[pkg] = calls
	return calls
}

// signsRequests says whether fn calls the SDK's SigV4 signer directly.
func signsRequests(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, ins := range b.Instrs {
			if c, ok := ins.(ssa.CallInstruction); ok {
				if callee := c.Common().StaticCallee(); callee != nil && strings.Contains(callee.String(), "aws/signer/v4.Signer).SignHTTP") {
					return true
				}
			}
		}
	}
	return false
}

// sdkOperation says whether fn is an operation of an SDK v2 service client,
// func (c *Client) Op(ctx, *OpInput, ...func(*Options)) (*OpOutput, error), and of
// which service.
func sdkOperation(fn *ssa.Function, sdk string) (string, bool) {
	sig := fn.Signature
	recv := sig.Recv()
	if recv == nil || sig.Params().Len() != 3 {
		return "", false
	}
	ptr, ok := recv.Type().(*types.Pointer)
	if !ok {
		return "", false
	}
	named, ok := ptr.Elem().(*types.Named)
	if !ok || named.Obj().Name() != "Client" || named.Obj().Pkg() == nil || !strings.HasPrefix(named.Obj().Pkg().Path(), sdk) {
		return "", false
	}
	if in := fmt.Sprint(sig.Params().At(1).Type()); !strings.HasSuffix(in, "."+fn.Name()+"Input") {
		return "", false
	}
	return strings.SplitN(strings.TrimPrefix(named.Obj().Pkg().Path(), sdk), "/", 2)[0], true
}
