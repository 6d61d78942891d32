package declared

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/flowq/flowq/internal/inventory"
)

// Root is where flowq deployments publish: /flowq/<app>/declared.
const Root = "/flowq"

// SSM is the call Read makes (*ssm.Client satisfies it).
type SSM interface {
	ssm.GetParametersByPathAPIClient
}

// ErrNone is returned by Read when nothing is published under the path, and
// by Discover when no deployment publishes.
var ErrNone = errors.New("no declared rules published")

// Read fetches every parameter under path (recursively, paginated) and
// parses them (Parse). now stamps the declaration.
func Read(ctx context.Context, api SSM, path string, now time.Time) (*inventory.Declaration, error) {
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("declared rules path %q: want an SSM path such as %s/tradai/declared", path, Root)
	}
	params, err := list(ctx, api, strings.TrimSuffix(path, "/"))
	if err != nil {
		return nil, fmt.Errorf("read declared rules under %s: %w", path, err)
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("%w under %s", ErrNone, path)
	}
	return Parse(params, "ssm:"+path, now)
}

// Discover returns the paths under Root that hold declared rules
// (/flowq/<app>/declared), sorted.
func Discover(ctx context.Context, api SSM) ([]string, error) {
	params, err := list(ctx, api, Root)
	if err != nil {
		return nil, fmt.Errorf("look for declared rules under %s: %w", Root, err)
	}
	var paths []string
	for _, p := range params {
		if i := strings.Index(p.Name, "/declared/"); i > 0 {
			if path := p.Name[:i+len("/declared")]; !slices.Contains(paths, path) {
				paths = append(paths, path)
			}
		}
	}
	slices.Sort(paths)
	return paths, nil
}

func list(ctx context.Context, api SSM, path string) ([]Param, error) {
	var out []Param
	p := ssm.NewGetParametersByPathPaginator(api, &ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, prm := range page.Parameters {
			out = append(out, Param{Name: aws.ToString(prm.Name), Value: aws.ToString(prm.Value)})
		}
	}
	slices.SortFunc(out, func(a, b Param) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// ErrAmbiguous is returned by Choose when several declarations name the
// snapshot's groups.
var ErrAmbiguous = errors.New("several deployments declare this network's rules")

// Choose returns the declaration among cands that describes the network of
// s: the one naming any security group or network ACL the snapshot holds.
// None: nil (the deployments publish for other networks). Several:
// ErrAmbiguous, naming their sources.
func Choose(cands []*inventory.Declaration, s *inventory.Snapshot) (*inventory.Declaration, error) {
	live := map[string]bool{}
	for _, g := range s.SecurityGroups {
		live[g.ID] = true
	}
	for _, a := range s.NetworkACLs {
		live[a.ID] = true
	}
	var hits []*inventory.Declaration
	for _, d := range cands {
		match := slices.ContainsFunc(d.SecurityGroups, func(g inventory.SecurityGroup) bool { return live[g.ID] }) ||
			slices.ContainsFunc(d.NetworkACLs, func(a inventory.NetworkACL) bool { return live[a.ID] })
		if match {
			hits = append(hits, d)
		}
	}
	switch len(hits) {
	case 0:
		return nil, nil
	case 1:
		return hits[0], nil
	}
	var srcs []string
	for _, d := range hits {
		srcs = append(srcs, d.Source)
	}
	return nil, fmt.Errorf("%w (%s)", ErrAmbiguous, strings.Join(srcs, ", "))
}
