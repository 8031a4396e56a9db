"""Contract test: Zoho's official Python SDK v8 (PyPI zohocrmsdk8-0) against zohosim.

Run by test/contract (contract_test.go, build tag contract) with the simulator's
address and Self Client credentials in the environment:

  ZOHOSIM_URL            http://127.0.0.1:PORT (accounts and API host)
  ZOHOSIM_CLIENT_ID, ZOHOSIM_CLIENT_SECRET, ZOHOSIM_REFRESH_TOKEN
  ZOHOSIM_GRANT_CODE     a fresh grant code (GET /zohosim/grant-code)
  ZOHOSIM_WORKDIR        a temporary directory for the SDK's token store, logs
                         and field cache

Each case parses the simulator's answer into the SDK's model classes and asserts
on the parsed objects. Prints "PASS <case>" or "FAIL <case>: why" per case and
exits 1 when any case failed.
"""

import os
import sys
import traceback

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam
from zohocrmsdk.src.com.zoho.crm.api.fields import ResponseWrapper as FieldsResponseWrapper
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.layouts import GetLayoutsParam, LayoutsOperations
from zohocrmsdk.src.com.zoho.crm.api.layouts import ResponseWrapper as LayoutsResponseWrapper
from zohocrmsdk.src.com.zoho.crm.api.record import (
    ActionWrapper,
    APIException,
    BodyWrapper,
    DuplicateRecord,
    Record,
    RecordOperations,
    SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

URL = os.environ["ZOHOSIM_URL"]
WORKDIR = os.environ["ZOHOSIM_WORKDIR"]
STORE = os.path.join(WORKDIR, "python_tokens.csv")
SIM_USER_EMAIL = "sim.admin@example.com"


class ZohosimDataCenter(DataCenter):
    """A data center whose API and accounts hosts are the simulator (the SDK's
    USDataCenter with its URLs replaced)."""

    @classmethod
    def PRODUCTION(cls):
        return DataCenter.Environment(URL, cls().get_iam_url(), cls().get_file_upload_url())

    def get_iam_url(self):
        return URL + "/oauth/v2/token"

    def get_file_upload_url(self):
        return URL


def initialize(token):
    Initializer.initialize(
        environment=ZohosimDataCenter.PRODUCTION(),
        token=token,
        store=FileStore(STORE),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=WORKDIR,
        logger=Logger.get_instance(level=Logger.Levels.INFO, file_path=os.path.join(WORKDIR, "python_sdk.log")),
    )


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def store_rows():
    with open(STORE) as f:
        lines = [l.rstrip("\n").split(",") for l in f if l.strip()]
    header = lines[0]
    return [dict(zip(header, l)) for l in lines[1:]]


def lead(email, **extra):
    r = Record()
    r.add_key_value("Last_Name", extra.pop("Last_Name", "Doe"))
    r.add_key_value("Company", "Acme Ltd")
    if email is not None:
        r.add_key_value("Email", email)
    for k, v in extra.items():
        if v is None:
            continue
        r.add_key_value(k, v)
    return r


def upsert(records, duplicate_check_fields=("Email",)):
    body = BodyWrapper()
    body.set_data(records)
    body.set_duplicate_check_fields(list(duplicate_check_fields))
    return RecordOperations("Leads").upsert_records(body)


def action_items(resp, status):
    check(resp is not None, "no response")
    check(resp.get_status_code() == status, "HTTP %s, want %s" % (resp.get_status_code(), status))
    obj = resp.get_object()
    check(isinstance(obj, ActionWrapper), "answer parsed as %r, want ActionWrapper" % type(obj))
    return obj.get_data()


def code(item):
    return item.get_code().get_value()


state = {}


def case_refresh_token_grant():
    initialize(OAuthToken(client_id=os.environ["ZOHOSIM_CLIENT_ID"], client_secret=os.environ["ZOHOSIM_CLIENT_SECRET"],
                          refresh_token=os.environ["ZOHOSIM_REFRESH_TOKEN"]))
    row = [r for r in store_rows() if r["refresh_token"] == os.environ["ZOHOSIM_REFRESH_TOKEN"]]
    check(len(row) == 1, "token store rows %r" % store_rows())
    row = row[0]
    check(row["access_token"].startswith("1000."), "access token %r" % row["access_token"])
    check(row["api_domain"] == URL, "api_domain %r" % row["api_domain"])
    # The SDK's "find user" step: GET /crm/v8/users?type=CurrentUser parsed into
    # users.ResponseWrapper (email) and GET /crm/v8/org into org.ResponseWrapper (zgid).
    user, _, zgid = row["user_name"].partition(":")
    check(user == SIM_USER_EMAIL and zgid.isdigit(), "user signature %r, want %s:<zgid>" % (row["user_name"], SIM_USER_EMAIL))


def case_grant_code_exchange():
    initialize(OAuthToken(client_id=os.environ["ZOHOSIM_CLIENT_ID"], client_secret=os.environ["ZOHOSIM_CLIENT_SECRET"],
                          grant_token=os.environ["ZOHOSIM_GRANT_CODE"]))
    rows = [r for r in store_rows() if r["grant_token"] == os.environ["ZOHOSIM_GRANT_CODE"]]
    check(len(rows) == 1, "token store rows %r" % store_rows())
    rt = rows[0]["refresh_token"]
    check(rt.startswith("1000.") and rt != os.environ["ZOHOSIM_REFRESH_TOKEN"], "new refresh token %r" % rt)
    check(rows[0]["access_token"].startswith("1000."), "access token %r" % rows[0]["access_token"])
    # The minted token works: an API call through the exchanged grant.
    params = ParameterMap()
    params.add(GetFieldsParam.module, "Contacts")
    resp = FieldsOperations().get_fields(params)
    check(resp.get_status_code() == 200 and isinstance(resp.get_object(), FieldsResponseWrapper),
          "fields with the exchanged token: %s %r" % (resp.get_status_code(), resp.get_object()))


def case_upsert_valid():
    items = action_items(upsert([lead("ada@example.com", First_Name="Ada"), lead("grace@example.com", First_Name="Grace")]), 200)
    check(len(items) == 2, "%d items" % len(items))
    for it in items:
        check(isinstance(it, SuccessResponse), "item %r" % type(it))
        check(code(it) == "SUCCESS" and it.get_status().get_value() == "success", "code/status %s/%s" % (code(it), it.get_status().get_value()))
        check(it.get_action().get_value() == "insert" and it.get_duplicate_field() is None, "action %r" % it.get_action().get_value())
        d = it.get_details()
        check(len(str(d["id"])) == 19, "id %r" % d["id"])
        check(d["Created_By"].get_id() == d["Modified_By"].get_id() and d["Created_By"].get_name() == "Sim Admin",
              "Created_By/Modified_By %r/%r" % (d["Created_By"].get_id(), d["Modified_By"].get_id()))
        check(d["Created_Time"] is not None and d["Modified_Time"] is not None, "times")
    check(items[0].get_details()["id"] != items[1].get_details()["id"], "two records, one id")
    state["ada"] = items[0].get_details()["id"]
    state["user_id"] = items[0].get_details()["Created_By"].get_id()


def case_upsert_mixed():
    # Matched on Phone, so the unique Email is checked against other records:
    # reusing Ada's Email is DUPLICATE_DATA.
    records = [
        lead("mixed-ok@example.com", Phone="+1 555 0100"),
        lead("no-last-name@example.com", Last_Name=None, Phone="+1 555 0101"),
        lead("not-an-email", Phone="+1 555 0102"),
        lead("ada@example.com", Phone="+1 555 0103"),
        lead("also-not-an-email", Last_Name=None, Phone="+1 555 0104"),
    ]
    records[1].add_key_value("Last_Name", None)
    records[4].add_key_value("Last_Name", None)
    items = action_items(upsert(records, duplicate_check_fields=("Phone",)), 207)
    want = ["SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_DATA", "DUPLICATE_DATA", "MULTIPLE_OR_MULTI_ERRORS"]
    got = [code(it) for it in items]
    check(got == want, "codes %r, want %r" % (got, want))
    check(isinstance(items[0], SuccessResponse), "item 0 %r" % type(items[0]))
    for it in items[1:]:
        check(isinstance(it, APIException) and it.get_status().get_value() == "error", "error item %r" % type(it))
    check(items[1].get_details()["api_name"] == "Last_Name", "MANDATORY_NOT_FOUND details %r" % items[1].get_details())
    check(items[2].get_details()["api_name"] == "Email", "INVALID_DATA details %r" % items[2].get_details())
    dup = items[3].get_details()
    check(dup["api_name"] == "Email", "DUPLICATE_DATA details %r" % dup)
    rec = dup["duplicate_record"]
    check(isinstance(rec, DuplicateRecord), "duplicate_record parsed as %r" % type(rec))
    check(str(rec.get_id()) == str(state["ada"]), "duplicate_record id %r, want Ada %s" % (rec.get_id(), state["ada"]))
    check(rec.get_owner().get_id() == state["user_id"], "duplicate_record.Owner %r, want the one user %s" % (rec.get_owner().get_id(), state["user_id"]))
    check(rec.get_module().get_api_name() == "Leads", "duplicate_record.module %r" % rec.get_module().get_api_name())
    # The SDK's record.APIException models details as a map of known keys
    # (json_details.json); MULTIPLE_OR_MULTI_ERRORS' details.errors is not one
    # of them, so only the code and status are asserted for it.
    check(isinstance(items[4].get_details(), dict), "MULTIPLE_OR_MULTI_ERRORS details %r" % items[4].get_details())


def case_upsert_same_email_update():
    items = action_items(upsert([lead("ADA@Example.com", First_Name="Augusta")]), 200)
    it = items[0]
    check(isinstance(it, SuccessResponse) and it.get_action().get_value() == "update", "action %r" % it.get_action().get_value())
    check(str(it.get_details()["id"]) == str(state["ada"]), "id %r, want %s" % (it.get_details()["id"], state["ada"]))
    check(it.get_duplicate_field() == "Email", "duplicate_field %r" % it.get_duplicate_field())


def case_upsert_101_records():
    resp = upsert([lead("bulk-%03d@example.com" % i) for i in range(101)])
    check(resp.get_status_code() == 400, "HTTP %s, want 400" % resp.get_status_code())
    obj = resp.get_object()
    check(isinstance(obj, APIException), "answer parsed as %r, want APIException" % type(obj))
    check(obj.get_code().get_value() == "LIMIT_EXCEEDED" and obj.get_status().get_value() == "error", "code %s" % obj.get_code().get_value())
    check(int(obj.get_details()["limit"]) == 100, "details %r" % obj.get_details())


def fields_of(module):
    params = ParameterMap()
    params.add(GetFieldsParam.module, module)
    resp = FieldsOperations().get_fields(params)
    check(resp.get_status_code() == 200, "HTTP %s" % resp.get_status_code())
    obj = resp.get_object()
    check(isinstance(obj, FieldsResponseWrapper), "answer parsed as %r" % type(obj))
    return {f.get_api_name(): f for f in obj.get_fields()}


def check_fields(module, extra):
    fields = fields_of(module)
    for name, f in fields.items():
        check(isinstance(f.get_length(), int) and f.get_length() > 0, "%s.%s length %r" % (module, name, f.get_length()))
    check(fields["Last_Name"].get_system_mandatory() is True and fields["Last_Name"].get_length() == 80, "Last_Name")
    check(fields["Email"].get_unique().get_casesensitive() == "false", "Email unique.casesensitive %r" % fields["Email"].get_unique().get_casesensitive())
    check(fields["Email_Opt_Out"].get_length() == 5 and fields["Email_Opt_Out"].get_data_type() == "boolean", "Email_Opt_Out")
    values = [v.get_actual_value() for v in fields["Lead_Source"].get_pick_list_values()]
    check("Advertisement" in values, "Lead_Source values %r" % values)
    for name, length in extra.items():
        check(fields[name].get_length() == length, "%s.%s length %r, want %d" % (module, name, fields[name].get_length(), length))


def case_fields_leads():
    check_fields("Leads", {"Company": 200, "Description": 32000})


def case_fields_contacts():
    check_fields("Contacts", {"Date_of_Birth": 20})


def case_layouts_leads():
    params = ParameterMap()
    params.add(GetLayoutsParam.module, "Leads")
    resp = LayoutsOperations().get_layouts(params)
    check(resp.get_status_code() == 200, "HTTP %s" % resp.get_status_code())
    obj = resp.get_object()
    check(isinstance(obj, LayoutsResponseWrapper), "answer parsed as %r" % type(obj))
    layouts = obj.get_layouts()
    check(len(layouts) == 1 and layouts[0].get_status() == "active", "layouts %r" % layouts)
    required = [f.get_api_name() for s in layouts[0].get_sections() for f in s.get_fields() if f.get_required()]
    check(required == ["Last_Name", "Company"], "required %r" % required)


# Same order as ../node/contract.mjs: the grant-code exchange first, then the
# refresh-token grant initializes the Self Client the upsert cases use.
CASES = [
    ("grant-code exchange", case_grant_code_exchange),
    ("refresh-token grant", case_refresh_token_grant),
    ("upsert valid records", case_upsert_valid),
    ("upsert mixed batch", case_upsert_mixed),
    ("upsert same-email update", case_upsert_same_email_update),
    ("upsert 101 records", case_upsert_101_records),
    ("fields metadata Leads", case_fields_leads),
    ("fields metadata Contacts", case_fields_contacts),
    ("layouts Leads", case_layouts_leads),
]


def main():
    failed = 0
    for name, fn in CASES:
        try:
            fn()
            print("PASS %s" % name, flush=True)
        except Exception as e:  # noqa: BLE001 - every failure is reported per case
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
            traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
