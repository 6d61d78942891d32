#!/usr/bin/env bash
# deploy-local: deploy both presets of the flowq CDK app into a local moto_server
# (`cdk bootstrap` + `cdk deploy --all --method=direct`), then read the deployed
# resources back through the AWS APIs (go test ./deploy) and stop moto.
#
# Needs moto_server, the aws CLI, node/npm and go. When one is missing the script
# skips with how to install it, except under CI=true, where it fails.
#
# Environment: PRESETS (default "tradai menotime"); KEEP=1 keeps the work
# directory (templates, deploy logs, moto log) for inspection; MOTO_PORT=N uses a
# moto_server already listening on localhost:N (and leaves it running).
set -euo pipefail
cd "$(dirname "$0")/.."
infra=$(pwd)

missing() {
	if [ "${CI:-}" = "true" ]; then
		echo "deploy-local: FAIL: $1 is not installed ($2)" >&2
		exit 1
	fi
	echo "deploy-local: SKIP: $1 is not installed; install it with: $2"
	exit 0
}
command -v moto_server >/dev/null || missing moto_server "pip install 'moto[server]'"
command -v aws >/dev/null || missing aws "pip install awscli (or apt-get install awscli)"
command -v npm >/dev/null || missing npm "apt-get install nodejs npm"
command -v go >/dev/null || missing go "https://go.dev/doc/install"
[ -x node_modules/.bin/cdk ] || npm ci --no-audit --no-fund
cdk="$infra/node_modules/.bin/cdk"

PRESETS=${PRESETS:-"tradai menotime"}
ACCOUNT=123456789012 # moto's default account
work=$(mktemp -d "${TMPDIR:-/tmp}/flowq-deploy-local.XXXXXX")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# moto listens on 127.0.0.1 only, but clients use "localhost": moto's CloudFormation
# resolves TemplateURLs (the CDK's template assets) only on a localhost host.
if [ -n "${MOTO_PORT:-}" ]; then
	port=$MOTO_PORT
	sleep 1000000 & # stands in for moto below
	moto_pid=$!
	: >"$work/moto.log"
else
	moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
	moto_pid=$!
fi
cleanup() {
	kill "$moto_pid" 2>/dev/null || true
	wait "$moto_pid" 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then echo "deploy-local: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export AWS_ENDPOINT_URL="http://localhost:$port"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_PAGER="" AWS_EC2_METADATA_DISABLED=true
export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=1
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION=1

for _ in $(seq 1 60); do
	curl -sf -o /dev/null "$AWS_ENDPOINT_URL/moto-api/" && break
	kill -0 "$moto_pid" 2>/dev/null || { cat "$work/moto.log"; echo "deploy-local: moto_server died" >&2; exit 1; }
	sleep 0.5
done
echo "deploy-local: moto_server on $AWS_ENDPOINT_URL (work dir $work)"

# Build the app once; every cdk command below runs the binary.
mkdir -p .build
go build -o .build/infra-app .

region_of() {
	case "$1" in
	tradai) echo us-east-1 ;;
	menotime) echo us-west-1 ;;
	*) echo "deploy-local: unknown preset $1" >&2; exit 1 ;;
	esac
}

for preset in $PRESETS; do
	region=$(region_of "$preset")
	export AWS_REGION=$region AWS_DEFAULT_REGION=$region
	echo "deploy-local: [$preset] bootstrap aws://$ACCOUNT/$region"
	# Bootstrap from an empty directory so the CLI does not synthesize the app.
	(cd "$work" && "$cdk" bootstrap "aws://$ACCOUNT/$region" --no-notices) >"$work/bootstrap-$preset.log" 2>&1 ||
		{ cat "$work/bootstrap-$preset.log"; exit 1; }
	# An ACM certificate for the HTTPS listener (moto's ELBv2 checks that it exists).
	cert=$(aws acm request-certificate --domain-name "$preset.flowq.test" --query CertificateArn --output text)
	# deploy/network_test.go deploys the preset of this region again, in the CloudWatch Logs mode.
	export "FLOWQ_DEPLOY_CERT_$(echo "$region" | tr a-z- A-Z_)=$cert"
	ctx=(-c "preset=$preset" -c "certificateArn=$cert" -c "alertEmail=ops@flowq.test")
	if [ "$preset" = menotime ]; then
		# exercise the optional parts: public zone records and the bastion group
		ctx+=(-c domain=menotime.flowq.test -c bastionCidr=198.51.100.7/32)
	fi
	echo "deploy-local: [$preset] cdk deploy --all --method=direct"
	if ! "$cdk" deploy --all --app "$infra/.build/infra-app" --method=direct --require-approval never \
		--no-notices --progress events -o "$work/cdk.out.$preset" "${ctx[@]}" >"$work/deploy-$preset.log" 2>&1; then
		grep -v '^!!' "$work/deploy-$preset.log" | tail -40
		grep -B2 -A3 -E 'Traceback|Error' "$work/moto.log" | tail -40
		echo "deploy-local: [$preset] deploy failed" >&2
		exit 1
	fi
	grep -E 'Stack ARN|✅' "$work/deploy-$preset.log" || true
done

echo "deploy-local: reading the deployment back"
if ! FLOWQ_DEPLOY_ENDPOINT=$AWS_ENDPOINT_URL FLOWQ_DEPLOY_DIR=$work FLOWQ_DEPLOY_PRESETS="$PRESETS" \
	go test -count=1 -timeout 40m -v ./deploy/ >"$work/deploy-test.log" 2>&1; then
	grep -v '^!!' "$work/deploy-test.log"
	echo "deploy-local: FAIL" >&2
	exit 1
fi
grep -v '^!!' "$work/deploy-test.log"
