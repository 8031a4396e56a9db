package fieldvalue_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/zohosink/zohosink/internal/simtest"
	"github.com/zohosink/zohosink/mapping/fieldvalue"
	"github.com/zohosink/zohosink/zohoapi"
	"github.com/zohosink/zohosink/zohoapi/zohosim"
)

// TestConvertedValuesAcceptedBySimulator reads the metadata of a custom
// module with a field of every type from the simulator, converts one
// event value per field that Zoho would refuse as sent, and upserts the
// record: the simulator (which checks values by type as Zoho does) accepts
// it and stores the converted values. Sent unconverted, every value is
// refused with INVALID_DATA naming its field.
func TestConvertedValuesAcceptedBySimulator(t *testing.T) {
	sim := zohosim.New(zohosim.Options{})
	t.Cleanup(sim.Close)
	sim.AddModule("Subscriptions", zohosim.FieldsOfEveryType())
	client := simtest.Client(t, sim)
	ctx := context.Background()
	fields, err := client.Fields(ctx, "Subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	event := simtest.EveryType() // field → event value, stored value (JSON)
	var converted, raw zohoapi.Record
	for _, f := range fields {
		e, ok := event[f.APIName]
		c, err := fieldvalue.New(f)
		if !ok {
			var fe *fieldvalue.Error
			if f.APIName != "Lookup_Field" || !errors.As(err, &fe) || fe.Reason != fieldvalue.ReasonUnsupportedType {
				t.Fatalf("%s: %v", f.APIName, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", f.APIName, err)
		}
		v, _, err := c.Append(nil, gjson.Parse(e.In))
		if err != nil {
			t.Fatalf("%s: %v", f.APIName, err)
		}
		converted = append(converted, zohoapi.RecordField{Name: f.APIName, Value: v})
		raw = append(raw, zohoapi.RecordField{Name: f.APIName, Value: []byte(e.In)})
	}

	res, err := client.Upsert(ctx, zohoapi.UpsertRequest{Module: "Subscriptions", Records: []zohoapi.Record{raw}})
	if err != nil {
		t.Fatal(err)
	}
	// Zoho takes padded text as sent; every other value is refused as sent.
	const refused = "Textarea_Field,Email_Field,Phone_Field,Picklist_Field,Multiselectpicklist_Field,Integer_Field,Bigint_Field," +
		"Double_Field,Decimal_Field,Currency_Field,Percent_Field,Boolean_Field,Date_Field,Datetime_Field"
	if re := res.Results[0].Err; re == nil || re.Code != "INVALID_DATA" || re.Field != refused {
		t.Fatalf("unconverted record: %+v", res.Results[0])
	}

	res, err = client.Upsert(ctx, zohoapi.UpsertRequest{Module: "Subscriptions", Records: []zohoapi.Record{converted}})
	if err != nil || res.Results[0].Err != nil {
		t.Fatalf("converted record %s: %v %+v", converted.JSON(), err, res.Results[0].Err)
	}
	stored, _ := sim.Record("Subscriptions", res.Results[0].ID)
	for name, e := range event {
		got, _ := json.Marshal(stored[name])
		var want any
		_ = json.Unmarshal([]byte(e.Stored), &want)
		if w, _ := json.Marshal(want); string(got) != string(w) {
			t.Errorf("%s stored %s, want %s", name, got, w)
		}
	}
}
