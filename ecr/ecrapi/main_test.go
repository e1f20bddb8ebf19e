package ecrapi_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/berth/berth/internal/testimage"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(&exitCode{m: m})
}

// exitCode runs the tests and then removes the images they built.
type exitCode struct{ m *testing.M }

func (e *exitCode) Run() int {
	code := e.m.Run()
	if err := testimage.Cleanup(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		code = 1
	}
	return code
}
