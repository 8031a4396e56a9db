package pipeline_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/zohosink/zohosink/mapping"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestContactsEndToEnd: with zoho.module Contacts, events become Contacts
// upserted on Email: the company trait as the Account_Name lookup by name
// ({"name": …}), no Company field, Last_Name from the name, Lead Generated's
// Lead_Source and a constant mapping; nothing is dead-lettered.
func TestContactsEndToEnd(t *testing.T) {
	h := newHarness(t, 1, zohosim.Options{})
	h.produce(
		event("identify", "", map[string]any{"email": "ann@example.com", "name": "Ann Lee", "company": map[string]any{"name": "Acme Ltd"}}, nil, "u1"),
		event("track", "Lead Generated", map[string]any{"email": "bob@example.com", "lastName": "Bob", "company": "Globex"}, map[string]any{"source": "Web Download", "form_name": "Demo"}, "u2"),
	)
	o := h.options()
	o.Module, o.Mapping.Module = "Contacts", "Contacts"
	o.DuplicateCheckFields = []string{"Email"}
	o.Mapping.Fields = []mapping.FieldMapping{{Value: "Newsletter", To: "Department"}}
	r := h.start(o)
	h.waitCommitted(30 * time.Second)
	r.shutdown()
	if s := r.p.Stats(); s.Delivered != 2 || s.DeadLetteredTotal() != 0 {
		t.Fatalf("delivered %d, dead-lettered %v; want 2, none", s.Delivered, s.DeadLettered)
	}
	got := map[string]map[string]any{}
	for _, c := range h.sim.Records("Contacts") {
		got[c["Email"].(string)] = mappedFields(c, map[string]any{"Email": 0, "First_Name": 0, "Last_Name": 0, "Account_Name": 0, "Company": 0, "Lead_Source": 0, "Description": 0, "Department": 0})
	}
	want := map[string]map[string]any{
		"ann@example.com": {"Email": "ann@example.com", "First_Name": "Ann", "Last_Name": "Lee", "Account_Name": map[string]any{"name": "Acme Ltd"}, "Department": "Newsletter"},
		"bob@example.com": {"Email": "bob@example.com", "Last_Name": "Bob", "Account_Name": map[string]any{"name": "Globex"}, "Lead_Source": "Web Download", "Description": "Demo", "Department": "Newsletter"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Contacts in Zoho\n got  %v\n want %v", got, want)
	}
	if leads := h.sim.Records("Leads"); len(leads) != 0 {
		t.Errorf("%d records went to Leads", len(leads))
	}
	if calls := h.sim.Calls(); len(calls) == 0 || calls[0].Module != "Contacts" || !reflect.DeepEqual(calls[0].DuplicateCheckFields, []string{"Email"}) {
		t.Errorf("upsert calls %+v", calls)
	}
}
