package source

import (
	"regexp"
	"strings"
)

// awsObject matches the names AWS gives flow-log files it delivers to S3:
// {account}_vpcflowlogs_{region}_{flow-log-id}_{YYYYMMDD}T{HHmm}Z_{hash}.log.gz
// (.log.parquet for Parquet; .log when stored decompressed).
var awsObject = regexp.MustCompile(`^([0-9]{12})_vpcflowlogs_([a-z0-9-]+)_(fl-[0-9a-f]+)_([0-9]{8}T[0-9]{4}Z)_([0-9A-Za-z]+)(\.log|\.log\.gz|\.log\.parquet|\.parquet)$`)

// AWSObject is what an AWS-delivered object's name says.
type AWSObject struct {
	Name, Account, Region, FlowLogID, Time string
}

// ParseAWSName recognises an AWS-delivered flow-log object name (the last
// element of a path or key).
func ParseAWSName(name string) (AWSObject, bool) {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	m := awsObject.FindStringSubmatch(name)
	if m == nil {
		return AWSObject{}, false
	}
	return AWSObject{Name: name, Account: m[1], Region: m[2], FlowLogID: m[3], Time: m[4]}, true
}

// flowLogName reports whether a file name looks like flow logs: what AWS
// delivers (.log.gz, .log.parquet) and what people save (.log, .txt, .gz,
// .parquet).
func flowLogName(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".log", ".gz", ".txt", ".parquet"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// Filter selects AWS-delivered objects by account and region, as
// flowlogs-reader's --account/--region do. Objects that are not
// AWS-delivered pass only when the filter is empty.
type Filter struct {
	Account, Region string
}

func (f Filter) match(o AWSObject, aws bool) bool {
	if f.Account == "" && f.Region == "" {
		return true
	}
	if !aws {
		return false
	}
	return (f.Account == "" || o.Account == f.Account) && (f.Region == "" || o.Region == f.Region)
}

// keyMatch applies the filter to the AWS S3 key layouts before the name:
// AWSLogs/{account}/vpcflowlogs/{region}/... and the Hive-compatible
// AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/...
// It lets a listing skip whole prefixes; the name is checked as well.
func (f Filter) prefixes(prefix string) []string {
	if f.Account == "" {
		return []string{prefix}
	}
	base := strings.TrimSuffix(prefix, "/")
	if i := strings.LastIndex(base, "AWSLogs"); i < 0 || base[i:] != "AWSLogs" {
		return []string{prefix}
	}
	plain := base + "/" + f.Account + "/vpcflowlogs/"
	hive := base + "/aws-account-id=" + f.Account + "/aws-service=vpcflowlogs/"
	if f.Region != "" {
		plain += f.Region + "/"
		hive += "aws-region=" + f.Region + "/"
	}
	return []string{plain, hive}
}
