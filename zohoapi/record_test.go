package zohoapi_test

import (
	"testing"

	"github.com/zohosink/zohosink/internal/recordtest"
	"github.com/zohosink/zohosink/zohoapi"
)

// TestRecordJSONAndMerge: AppendJSON keeps the field order and the values as
// they are; Merge keeps each name where it first appears with the last value.
func TestRecordJSONAndMerge(t *testing.T) {
	a := recordtest.Of(`{"Email":"a@example.com","First_Name":"A","No_of_Employees":250}`)
	b := recordtest.Of(`{"First_Name":"B","Interests":["CRM","Chat"]}`)
	if got, want := string(a.JSON()), `{"Email":"a@example.com","First_Name":"A","No_of_Employees":250}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	m := zohoapi.Merge(a, b)
	if got, want := string(m.JSON()), `{"Email":"a@example.com","First_Name":"B","No_of_Employees":250,"Interests":["CRM","Chat"]}`; got != want {
		t.Errorf("Merge = %s, want %s", got, want)
	}
	if string(a.Get("First_Name")) != `"A"` || a.Get("Phone") != nil {
		t.Errorf("Merge modified its input, or Get is wrong: %s", a.JSON())
	}
	if len(zohoapi.Merge(a)) != 3 || &zohoapi.Merge(a)[0] != &a[0] {
		t.Error("Merge of one record is not the record itself")
	}
}
