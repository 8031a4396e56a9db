package topics

import "testing"

func TestProducerLimits(t *testing.T) {
	lim := Limits{
		Sources:         []string{"big", "small", "missing"},
		MaxMessageBytes: map[string]int32{"big": 16 << 20, "small": 2 << 20, "dlq": 8 << 20},
		DLQTopic:        "dlq",
	}
	for _, tc := range []struct {
		name          string
		lim           Limits
		setting       int32
		dlq, toSource int32
	}{
		{"from the topics", lim, 0, 8 << 20, 2 << 20},
		{"capped by the setting", lim, 1 << 20, 1 << 20, 1 << 20},
		{"a larger setting caps nothing", lim, 32 << 20, 8 << 20, 2 << 20},
		{"nothing known", Limits{}, 0, DefaultMaxMessageBytes, DefaultMaxMessageBytes},
		{"nothing known, a setting", Limits{}, 3 << 20, 3 << 20, 3 << 20},
	} {
		if got := tc.lim.ProducerLimit(tc.setting); got != tc.dlq {
			t.Errorf("%s: ProducerLimit(%d) = %d, want %d", tc.name, tc.setting, got, tc.dlq)
		}
		if got := tc.lim.SourceProducerLimit(tc.setting); got != tc.toSource {
			t.Errorf("%s: SourceProducerLimit(%d) = %d, want %d", tc.name, tc.setting, got, tc.toSource)
		}
	}
}
