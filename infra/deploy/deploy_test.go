package deploy

import (
	"os"
	"testing"
)

func TestDeployed(t *testing.T) {
	if os.Getenv("FLOWQ_DEPLOY_ENDPOINT") == "" {
		t.Skip("needs a deployment: run make -C infra deploy-local")
	}
}
