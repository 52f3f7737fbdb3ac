package smart_test

import (
	"testing"

	"hpsandbox/smart"
	"hpsandbox/smart/statetest"
)

func TestMemoryState_PassesStateStoreConformance(t *testing.T) {
	statetest.Run(t, func(*testing.T) smart.StateStore { return smart.NewMemoryState(nil) })
}
