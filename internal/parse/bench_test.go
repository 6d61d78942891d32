package parse_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/benchref"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// V5Format is the 29-field custom format of flow-log version 5.
const V5Format = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${flow-direction} ${traffic-path}"

var benchStart = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func benchInputs(b *testing.B) map[string]*parse.Format {
	return map[string]*parse.Format{"default": parse.DefaultFormat(), "v5": parse.MustParseFormat(V5Format)}
}

// BenchmarkParse measures flowq's parser (text → Arrow) beside the plain
// stdlib parser on the same input; compare with benchstat.
func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"default", "v5"} {
		fm := benchInputs(b)[name]
		data := synth.Text(1, fm, benchStart, 100_000, false)
		b.Run(name+"/flowq", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := parse.NewBytesReader(data, parse.Options{Format: fm})
				n := int64(0)
				for r.Next() {
					n += r.RecordBatch().NumRows()
				}
				r.Release()
				if n != 100_000 {
					b.Fatalf("parsed %d records", n)
				}
			}
			b.ReportMetric(float64(100_000*b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run(name+"/flowq-stream", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := parse.NewReader(bytes.NewReader(data), parse.Options{Format: fm})
				for r.Next() {
				}
				r.Release()
			}
		})
		names := make([]string, fm.Len())
		for i := range names {
			names[i] = fm.Field(i).Name
		}
		b.Run(name+"/stdlib", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				recs := make([]benchref.Record, 0, 1024)
				if _, err := benchref.Stdlib(bytes.NewReader(data), names, func(r *benchref.Record) {
					if len(recs) == cap(recs) {
						recs = recs[:0]
					}
					recs = append(recs, *r)
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
