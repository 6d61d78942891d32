// Package detect runs flowq's detectors — exfiltration, REJECT, port scan
// and policy — over flow-log record batches and reports each finding once per key
// per window however the records arrive. Reject and port scan count in
// tumbling windows; exfiltration in hopping windows of twice each rule's
// window, starting every window, so that a transfer within any span of one
// window is judged whole (see Engine.due and the README's guarantee).
//
// It does no I/O: the configuration (internal/detectconfig), the clock, the
// window State and optionally a Resolver (WithResolver, naming the resources
// behind alerts' addresses) are passed in, and AWS lives at the edges (internal/detect/ddbstate keeps
// state in DynamoDB; internal/alert delivers alerts). It reads the Arrow
// record batches of internal/parse by column name, so batches from the
// flow-log Parquet lake work too; columns a format lacks are treated as null.
//
// # Detectors
//
//   - exfiltration: bytes per (src, dst) pair within any span of a window,
//     alert when strictly greater than Config.ExfilBytes (default 1,000,000);
//     Config.ExfilBudgets add rules (50 MB per 24h). Replies of a server to
//     its clients are not counted. Default scope: source
//     inside Config.Watch (default 10.0.0.0/16), destination outside it;
//     ExfilAnyPair judges every pair, as the seed's Logs Insights query does.
//     REJECT records carry no delivered bytes and are not counted. Traffic
//     with pkt-dst-aws-service set is skipped unless ExfilAWSServices;
//     destinations in ExfilAllowDst and sources in ExfilAllowSrc (such as a
//     NAT gateway's private IP) are never judged. When flow-direction is
//     logged, an ingress record whose source is watched is skipped: the same
//     bytes were logged as egress on the sender's interface.
//   - reject: REJECT records per source in a window, alert at
//     Config.RejectThreshold (default 1). Default scope: source inside Watch;
//     RejectSrc, RejectDst and RejectPorts narrow it (the seed's
//     srcaddr like "10.0.11" is RejectSrc 10.0.11.0/24), the RejectAllow*
//     lists carve out expected rejects. Rejects from outside are counted in
//     Summary.InboundRejects, not alerted.
//   - portscan: distinct destination ports (TCP, UDP, SCTP) per (src, dst)
//     in a window, alert at Config.ScanPorts (default 10); source inside
//     ScanSrc (default Watch). The alert's records, bytes, span and
//     evidence are the scan's probes: the records of ports a batch saw
//     tried at most twice (scanProbes), not the pair's ordinary traffic.
//   - policy (PolicyDetector): records that disagree with the network's
//     rules of their time, as an inventory snapshot has them (a
//     PolicyJudge; internal/inventory/resolve): ACCEPTed traffic the rules
//     deny, and REJECTs a network ACL makes of flows the security groups
//     allow. One alert per (window, src, dst), naming the deciding layer and
//     rule. Verdicts are remembered per flow class (policymemo.go), so a
//     flow is judged once per snapshot, not once per record.
//
// Contextual runs the Engine with what an inventory adds: records on NAT
// gateway and NAT instance interfaces left out (their bytes are the hosts'
// behind them, logged on the hosts' own interfaces), and the policy
// detector beside the others.
//
// Addresses are judged after NAT: pkt-srcaddr and pkt-dstaddr replace
// srcaddr and dstaddr when present. IPv4 and IPv6 are both handled and
// reported in canonical form (netip). NODATA and SKIPDATA records are
// ignored.
//
// # Use
//
//	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), time.Now)
//	alerts, err := eng.Process(ctx, batchID, rec) // rec from parse.Reader
//	// deliver the alerts (internal/alert), then:
//	err = eng.Ack(ctx, alerts)
//
// # Exactly once
//
// Window counters live behind State, keyed by (detector, window, src, dst,
// and for exfiltration the window's span).
// Process aggregates a batch per key, then applies each key's delta to State
// together with the batch's token (a hash of batchID); State applies a token
// to a key at most once, atomically with the counters (DynamoDB: one
// UpdateItem with ADD and a condition on the set of applied tokens), so a
// batch split, reordered, retried after a partial failure or replayed is
// counted exactly once. A key whose totals are due is then claimed with a
// conditional write (not yet sent, and unclaimed, claimed by this very batch,
// or its lease expired) and only then returned. The caller delivers the
// alerts and calls Ack, which marks them sent for good.
//
// Detection is therefore exactly once, delivery at least once: if the
// process dies after a claim but before Ack, the retried batch (same batchID)
// takes its own claim again and returns the same alert, with the same
// deterministic ID, so it is never lost, and a subscriber that saw the first
// delivery drops the repeat by ID. The lease (Config.ClaimLease) lets another
// batch of the same key hand out an alert whose batch was never retried.
// Losing an alert to avoid a duplicate would be the worse failure for a
// security alert.
package detect
