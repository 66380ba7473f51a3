package verdict

import (
	"testing"

	"github.com/chant-run/chant/internal/phasetest"
)

func TestMain(m *testing.M) { phasetest.Main(m) }
