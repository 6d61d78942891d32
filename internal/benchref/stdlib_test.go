package benchref

import (
	"strings"
	"testing"
)

func TestStdlib(t *testing.T) {
	in := "version srcaddr bytes action\n2 10.0.0.1 100 ACCEPT\n2 10.0.0.2 - REJECT\n"
	var got []Record
	n, err := Stdlib(strings.NewReader(in), []string{"version", "srcaddr", "bytes", "action"}, func(r *Record) { got = append(got, *r) })
	if err != nil || n != 2 {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if got[0].SrcAddr != "10.0.0.1" || got[0].Bytes != 100 || got[1].Action != "REJECT" {
		t.Fatalf("got %+v", got)
	}
	if _, err := Stdlib(strings.NewReader("2 x\n"), []string{"version"}, func(*Record) {}); err == nil {
		t.Fatal("field count mismatch not reported")
	}
}
