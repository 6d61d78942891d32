package detect_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/parse"
	"github.com/flowq/flowq/internal/synth"
)

// benchFormat is the seed VPC's flow-log format plus the version-5 fields
// the detectors use.
var benchFormat = parse.MustParseFormat("${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} " +
	"${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${tcp-flags} ${type} " +
	"${pkt-srcaddr} ${pkt-dstaddr} ${pkt-dst-aws-service} ${flow-direction}")

const benchRecords = 200_000

func benchText() []byte {
	return synth.Text(1, benchFormat, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), benchRecords, false)
}

// BenchmarkParse parses the text the detector benchmark runs on, for the
// records/s comparison (detectors must be > 5× faster).
func BenchmarkParse(b *testing.B) {
	text := benchText()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		rd := parse.NewBytesReader(text, parse.Options{Format: benchFormat})
		for rd.Next() {
			n += rd.RecordBatch().NumRows()
		}
		rd.Release()
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDetect runs the three detectors with the in-memory state over
// the parsed batches (parsing excluded). SetBytes is the text size the
// batches came from, so MB/s compares with BenchmarkParse.
func BenchmarkDetect(b *testing.B) {
	text := benchText()
	rd := parse.NewBytesReader(text, parse.Options{Format: benchFormat})
	recs, _ := rd.ReadAll() // in-memory input: no I/O error
	rd.Release()
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	ids := make([]string, len(recs))
	for i := range ids {
		ids[i] = "bench#" + strconv.Itoa(i)
	}
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var n int64
	// One engine and state for the whole run, as in a warm Lambda: every
	// pass is new batches (new IDs) over the same windows.
	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	pass := 0
	for b.Loop() {
		pass++
		for i, r := range recs {
			if _, err := eng.Process(ctx, ids[i]+"/"+strconv.Itoa(pass), r); err != nil {
				b.Fatal(err)
			}
			n += r.NumRows()
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDetectVsParse alternates parsing the text (as BenchmarkParse)
// and detecting over batches parsed from it beforehand (as BenchmarkDetect)
// in one loop, so both rates are measured under the same machine load, and
// reports each and their ratio (target: ratio > 5), on two inputs of
// 200,000 records: the demo day, and the high-cardinality case, where a
// quarter of the records go to or come from 50,000 distinct internet peers
// (tasks calling 25,000 addresses, 25,000 scanners probing the load
// balancers). One engine and state serve every pass, as in a warm Lambda.
func BenchmarkDetectVsParse(b *testing.B) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	peers := synth.Text(1, benchFormat, day, benchRecords*3/4, false)
	peers = append(peers, synth.InternetPeers(benchFormat, day, benchRecords/4)...)
	b.Run("demo", func(b *testing.B) { benchDetectVsParse(b, benchText()) })
	b.Run("peers", func(b *testing.B) { benchDetectVsParse(b, peers) })
}

func benchDetectVsParse(b *testing.B, text []byte) {
	rd := parse.NewBytesReader(text, parse.Options{Format: benchFormat})
	recs, _ := rd.ReadAll() // in-memory input: no I/O error
	rd.Release()
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	var parseTime, detectTime time.Duration
	var np, nd int64
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	eng, err := detect.New(detect.DefaultConfig(), detect.NewMemoryState(), func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	pass := 0
	for b.Loop() {
		pass++
		t0 := time.Now()
		rd := parse.NewBytesReader(text, parse.Options{Format: benchFormat})
		for rd.Next() {
			np += rd.RecordBatch().NumRows()
		}
		rd.Release()
		t1 := time.Now()
		for i, r := range recs {
			if _, err := eng.Process(ctx, "bench#"+strconv.Itoa(i)+"/"+strconv.Itoa(pass), r); err != nil {
				b.Fatal(err)
			}
			nd += r.NumRows()
		}
		t2 := time.Now()
		parseTime += t1.Sub(t0)
		detectTime += t2.Sub(t1)
	}
	pr := float64(np) / parseTime.Seconds()
	dr := float64(nd) / detectTime.Seconds()
	b.ReportMetric(pr, "parse-records/s")
	b.ReportMetric(dr, "detect-records/s")
	b.ReportMetric(dr/pr, "ratio")
}
