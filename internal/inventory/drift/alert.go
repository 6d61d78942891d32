package drift

import (
	"fmt"
	"strings"
)

// maxSubject is SNS's limit on a subject's length.
const maxSubject = 100

// Alert renders new drift as a notification: a subject (at most SNS's 100
// characters, ASCII) and a message with every finding, one a line. where
// names the deployment or VPC ("" leaves it out).
func Alert(r Report, fresh []Finding, where string) (subject, message string) {
	subject = fmt.Sprintf("flowq drift: %d rule changes outside the code", len(fresh))
	if len(fresh) == 1 {
		subject = "flowq drift: " + fresh[0].Change + " " + fresh[0].Kind + " rule outside the code"
	}
	if where != "" {
		subject += " (" + where + ")"
	}
	subject = ascii(subject)
	if len(subject) > maxSubject {
		subject = subject[:maxSubject-3] + "..."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "The live security groups and network ACLs differ from what the deployment declares (%s), as of the inventory snapshot of %s.\n\n",
		r.Declared, r.Snapshot.UTC().Format("2006-01-02T15:04:05Z"))
	fmt.Fprintf(&b, "New since the previous snapshot:\n")
	for _, f := range fresh {
		fmt.Fprintf(&b, "  %s\n", f)
	}
	if old := len(r.Findings) - len(fresh); old > 0 {
		fmt.Fprintf(&b, "\n%d earlier difference(s) remain; flowq inventory drift lists them all.\n", old)
	}
	b.WriteString("\nRestore the rules from the code (cdk deploy), or declare the change in the code.\n")
	return subject, b.String()
}

func ascii(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
