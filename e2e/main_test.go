package e2e

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/berth/berth/internal/testimage"
)

// TestMain removes the test images and the agent binary, then checks that no
// goroutine outlived the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if err := testimage.Cleanup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	removeAgentBinary()
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}
