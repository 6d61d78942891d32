// Package parse turns AWS VPC Flow Log text into Arrow record batches.
//
// It owns the flow-log format (every field of versions 2 through 11, custom
// ${field} formats and the header lines of files AWS delivers to S3) and the
// Arrow schema, which follows AWS's own flow-log Parquet: column = field name
// with "-" replaced by "_"; int32 for version, ports, protocol, tcp_flags,
// traffic_path and encryption_status; int64 for packets, bytes, start, end and
// the transit-gateway packet-loss counters; utf8 for the rest; "-" is null.
//
// A Reader is shaped like arrow-go's CSV reader (Next, RecordBatch, Err,
// Release). Bad lines never stop it: each is reported through
// Options.OnBadLine as a *LineError naming the line, the field and the reason,
// and counted in Stats, and the lines around it are kept. The package imports
// only the standard library and arrow-go.
package parse
