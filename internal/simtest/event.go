package simtest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event builds a website event envelope (DESIGN.md "Contract: event
// envelope") with marketing consent granted: type typ, event name (omitted
// when ""), userId and a unique messageId. A track event carries traits in
// context.traits, as analytics libraries send them; other types carry them
// at the top level. props, when not nil, are the event's properties.
func Event(typ, name string, traits, props map[string]any, userID string) []byte {
	m := map[string]any{"type": typ, "userId": userID, "messageId": fmt.Sprintf("m-%s-%d", userID, time.Now().UnixNano()),
		"context": map[string]any{"consent": map[string]any{"categories": map[string]any{"marketing": true}}}}
	if name != "" {
		m["event"] = name
	}
	switch {
	case traits != nil && typ == "track":
		m["context"].(map[string]any)["traits"] = traits
	case traits != nil:
		m["traits"] = traits
	}
	if props != nil {
		m["properties"] = props
	}
	b, _ := json.Marshal(m)
	return b
}
