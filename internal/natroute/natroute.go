// Package natroute points the private subnets' default routes at a new NAT
// instance: the function behind the NAT Auto Scaling group's launch lifecycle
// hook (the tradai preset). It turns the instance's source/destination check
// off, moves the Elastic IP to it and replaces the default route of every
// private route table with the instance's primary network interface.
//
// The instance itself completes the lifecycle action once its user data has
// configured forwarding (the health signal); if it never does, the hook times
// out, Auto Scaling abandons the instance and launches another, whose event
// moves the routes again.
package natroute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// LaunchTransition is the lifecycle transition the hook is registered for.
const LaunchTransition = "autoscaling:EC2_INSTANCE_LAUNCHING"

// Config is what the function acts on.
type Config struct {
	// RouteTables are the private route tables whose default route follows
	// the NAT instance.
	RouteTables []string
	// Destination is the route moved; 0.0.0.0/0 unless set.
	Destination string
	// AllocationID is the Elastic IP moved to the new instance; empty for none.
	AllocationID string
}

// Environment variables ConfigFromEnv reads.
const (
	EnvRouteTables = "FLOWQ_NAT_ROUTE_TABLES" // comma-separated route table IDs
	EnvAllocation  = "FLOWQ_NAT_EIP_ALLOCATION"
	EnvDestination = "FLOWQ_NAT_DESTINATION"
)

// ConfigFromEnv reads the Config from the function's environment.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		Destination:  strings.TrimSpace(getenv(EnvDestination)),
		AllocationID: strings.TrimSpace(getenv(EnvAllocation)),
	}
	for _, id := range strings.Split(getenv(EnvRouteTables), ",") {
		if id = strings.TrimSpace(id); id != "" {
			cfg.RouteTables = append(cfg.RouteTables, id)
		}
	}
	if cfg.Destination == "" {
		cfg.Destination = "0.0.0.0/0"
	}
	return cfg, cfg.Validate()
}

// Validate reports the first invalid field.
func (c Config) Validate() error {
	if len(c.RouteTables) == 0 {
		return fmt.Errorf("%s: no route table given", EnvRouteTables)
	}
	for _, id := range c.RouteTables {
		if !strings.HasPrefix(id, "rtb-") {
			return fmt.Errorf("%s: %q is not a route table ID (rtb-...)", EnvRouteTables, id)
		}
	}
	if _, err := netip.ParsePrefix(c.Destination); err != nil {
		return fmt.Errorf("%s: %w", EnvDestination, err)
	}
	if c.AllocationID != "" && !strings.HasPrefix(c.AllocationID, "eipalloc-") {
		return fmt.Errorf("%s: %q is not an Elastic IP allocation ID (eipalloc-...)", EnvAllocation, c.AllocationID)
	}
	return nil
}

// Event is the EventBridge event Auto Scaling sends for a lifecycle action
// ("EC2 Instance-launch Lifecycle Action").
type Event struct {
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     Detail `json:"detail"`
}

// Detail is the lifecycle action.
type Detail struct {
	LifecycleActionToken string `json:"LifecycleActionToken"`
	AutoScalingGroupName string `json:"AutoScalingGroupName"`
	LifecycleHookName    string `json:"LifecycleHookName"`
	InstanceID           string `json:"EC2InstanceId"`
	LifecycleTransition  string `json:"LifecycleTransition"`
}

// EC2 is the part of the EC2 API the Updater calls.
type EC2 interface {
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	ModifyNetworkInterfaceAttribute(context.Context, *ec2.ModifyNetworkInterfaceAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyNetworkInterfaceAttributeOutput, error)
	AssociateAddress(context.Context, *ec2.AssociateAddressInput, ...func(*ec2.Options)) (*ec2.AssociateAddressOutput, error)
	DescribeRouteTables(context.Context, *ec2.DescribeRouteTablesInput, ...func(*ec2.Options)) (*ec2.DescribeRouteTablesOutput, error)
	ReplaceRoute(context.Context, *ec2.ReplaceRouteInput, ...func(*ec2.Options)) (*ec2.ReplaceRouteOutput, error)
	CreateRoute(context.Context, *ec2.CreateRouteInput, ...func(*ec2.Options)) (*ec2.CreateRouteOutput, error)
}

// Updater moves the routes to the instance an event names.
type Updater struct {
	cfg Config
	ec2 EC2
	log *slog.Logger
}

// New returns an Updater; cfg must be valid.
func New(cfg Config, client EC2, log *slog.Logger) (*Updater, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Updater{cfg: cfg, ec2: client, log: log}, nil
}

// Result says what one event changed.
type Result struct {
	Instance string   `json:"instance,omitempty"`
	ENI      string   `json:"eni,omitempty"`
	Routes   []string `json:"routes,omitempty"`     // "rtb-... created|replaced|unchanged"
	Skipped  string   `json:"skipped,omitempty"`    // why nothing was done
	Address  string   `json:"elastic_ip,omitempty"` // the allocation moved, if any
}

// ErrNoInstance means the event names an instance EC2 does not know.
var ErrNoInstance = errors.New("no such instance")

// Handle acts on one lifecycle event. Events for other transitions, and for
// an instance that is already stopping or gone (a late or replayed event),
// change nothing: routes never move back to a dead instance. Handling the
// same event twice is harmless.
func (u *Updater) Handle(ctx context.Context, ev Event) (Result, error) {
	d := ev.Detail
	if d.LifecycleTransition != LaunchTransition {
		u.log.InfoContext(ctx, "not a launch: ignored", "transition", d.LifecycleTransition, "detail_type", ev.DetailType)
		return Result{Skipped: "transition " + d.LifecycleTransition}, nil
	}
	if !strings.HasPrefix(d.InstanceID, "i-") {
		return Result{}, fmt.Errorf("lifecycle event: EC2InstanceId %q is not an instance ID", d.InstanceID)
	}
	res := Result{Instance: d.InstanceID}
	inst, err := u.instance(ctx, d.InstanceID)
	if err != nil {
		return res, err
	}
	if inst.State != nil && inst.State.Name != types.InstanceStateNamePending && inst.State.Name != types.InstanceStateNameRunning {
		res.Skipped = "instance is " + string(inst.State.Name)
		u.log.WarnContext(ctx, "instance not pending or running: routes left alone", "instance", d.InstanceID, "state", inst.State.Name)
		return res, nil
	}
	eni := primaryENI(inst)
	if eni == "" {
		return res, fmt.Errorf("instance %s: no primary network interface", d.InstanceID)
	}
	res.ENI = eni
	// Forwarding needs the check off before any route points here.
	if _, err := u.ec2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
		NetworkInterfaceId: &eni, SourceDestCheck: &types.AttributeBooleanValue{Value: aws.Bool(false)},
	}); err != nil {
		return res, fmt.Errorf("turn off source/dest check on %s: %w", eni, err)
	}
	if u.cfg.AllocationID != "" {
		if _, err := u.ec2.AssociateAddress(ctx, &ec2.AssociateAddressInput{
			AllocationId: &u.cfg.AllocationID, NetworkInterfaceId: &eni, AllowReassociation: aws.Bool(true),
		}); err != nil {
			return res, fmt.Errorf("associate elastic ip %s with %s: %w", u.cfg.AllocationID, eni, err)
		}
		res.Address = u.cfg.AllocationID
	}
	for _, rt := range u.cfg.RouteTables {
		what, err := u.route(ctx, rt, eni)
		if err != nil {
			return res, err
		}
		res.Routes = append(res.Routes, rt+" "+what)
	}
	u.log.InfoContext(ctx, "nat routes point at the new instance", "instance", d.InstanceID, "eni", eni,
		"routes", strings.Join(res.Routes, ", "), "group", d.AutoScalingGroupName)
	return res, nil
}

func (u *Updater) instance(ctx context.Context, id string) (types.Instance, error) {
	out, err := u.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if strings.Contains(err.Error(), "InvalidInstanceID") {
			return types.Instance{}, fmt.Errorf("describe instance %s: %w: %w", id, ErrNoInstance, err)
		}
		return types.Instance{}, fmt.Errorf("describe instance %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if aws.ToString(i.InstanceId) == id {
				return i, nil
			}
		}
	}
	return types.Instance{}, fmt.Errorf("describe instance %s: %w", id, ErrNoInstance)
}

// primaryENI is the interface at device index 0.
func primaryENI(inst types.Instance) string {
	for _, n := range inst.NetworkInterfaces {
		if n.Attachment != nil && aws.ToInt32(n.Attachment.DeviceIndex) == 0 {
			return aws.ToString(n.NetworkInterfaceId)
		}
	}
	if len(inst.NetworkInterfaces) == 1 {
		return aws.ToString(inst.NetworkInterfaces[0].NetworkInterfaceId)
	}
	return ""
}

// route points the table's default route at eni: replaced when it exists
// (whatever it targets, including a blackhole left by a terminated instance),
// created when it does not.
func (u *Updater) route(ctx context.Context, rt, eni string) (string, error) {
	out, err := u.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rt}})
	if err != nil {
		return "", fmt.Errorf("describe route table %s: %w", rt, err)
	}
	if len(out.RouteTables) != 1 {
		return "", fmt.Errorf("describe route table %s: %d tables returned", rt, len(out.RouteTables))
	}
	dst := u.cfg.Destination
	for _, r := range out.RouteTables[0].Routes {
		if aws.ToString(r.DestinationCidrBlock) != dst {
			continue
		}
		if aws.ToString(r.NetworkInterfaceId) == eni && r.State != types.RouteStateBlackhole {
			return "unchanged", nil
		}
		if _, err := u.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
			RouteTableId: &rt, DestinationCidrBlock: &dst, NetworkInterfaceId: &eni,
		}); err != nil {
			return "", fmt.Errorf("replace route %s in %s: %w", dst, rt, err)
		}
		return "replaced", nil
	}
	if _, err := u.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{
		RouteTableId: &rt, DestinationCidrBlock: &dst, NetworkInterfaceId: &eni,
	}); err != nil {
		return "", fmt.Errorf("create route %s in %s: %w", dst, rt, err)
	}
	return "created", nil
}
