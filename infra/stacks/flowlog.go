package stacks

// FlowLogFormat is the one definition of the VPC flow-log record format: it is set
// as the flow log's LogFormat and passed to the ingest Lambda as FLOWQ_LOG_FORMAT.
// It uses AWS's field names, v2 through v5 (seed 000's ${windowstart},
// ${windowend} and ${tcpflags} are not accepted by AWS).
const FlowLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} " +
	"${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} " +
	"${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} " +
	"${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${flow-direction} ${traffic-path} " +
	"${pkt-src-aws-service} ${pkt-dst-aws-service}"

// LakeColumn is one column of the lake's Parquet files and Glue table.
type LakeColumn struct{ Name, Type string }

// LakeColumns are AWS's flow-log Parquet columns ("-" becomes "_") for the fields of
// FlowLogFormat, in its order.
var LakeColumns = []LakeColumn{
	{"version", "int"}, {"account_id", "string"}, {"interface_id", "string"},
	{"srcaddr", "string"}, {"dstaddr", "string"}, {"srcport", "int"}, {"dstport", "int"},
	{"protocol", "int"}, {"packets", "bigint"}, {"bytes", "bigint"}, {"start", "bigint"},
	{"end", "bigint"}, {"action", "string"}, {"log_status", "string"}, {"vpc_id", "string"},
	{"subnet_id", "string"}, {"instance_id", "string"}, {"tcp_flags", "int"},
	{"type", "string"}, {"pkt_srcaddr", "string"}, {"pkt_dstaddr", "string"},
	{"region", "string"}, {"az_id", "string"}, {"flow_direction", "string"},
	{"traffic_path", "int"}, {"pkt_src_aws_service", "string"},
	{"pkt_dst_aws_service", "string"},
}
