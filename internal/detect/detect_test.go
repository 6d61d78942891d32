package detect_test

import (
	"testing"

	"github.com/flowq/flowq/internal/detect"
	"github.com/flowq/flowq/internal/detect/detecttest"
)

func TestMemoryState(t *testing.T) {
	detecttest.Run(t, func(*testing.T) detect.State { return detect.NewMemoryState() })
}
