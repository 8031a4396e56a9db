// Contract test: Zoho's official Node.js SDK v8 (npm @zohocrm/nodejs-sdk-8.0)
// against zohosim. Run by test/contract (contract_test.go, build tag contract)
// with the same environment as ../python/contract.py:
//
//   ZOHOSIM_URL, ZOHOSIM_CLIENT_ID, ZOHOSIM_CLIENT_SECRET, ZOHOSIM_REFRESH_TOKEN,
//   ZOHOSIM_GRANT_CODE, ZOHOSIM_WORKDIR (token store, logs, field cache)
//
// Each case parses the simulator's answer into the SDK's model classes and
// asserts on the parsed objects. Prints "PASS <case>" or "FAIL <case>: why"
// per case and exits 1 when any case failed.
import fs from "node:fs";
import path from "node:path";
import * as Z from "@zohocrm/nodejs-sdk-8.0";

const env = process.env;
const URL = env.ZOHOSIM_URL;
const WORKDIR = env.ZOHOSIM_WORKDIR;
const STORE = path.join(WORKDIR, "node_tokens.csv");
const SIM_USER_EMAIL = "sim.admin@example.com";

// A data center whose API and accounts hosts are the simulator (the SDK's
// USDataCenter with its URLs replaced).
class ZohosimDataCenter extends Z.DataCenter {
  static PRODUCTION() {
    const dc = new ZohosimDataCenter();
    return new Z.Environment(URL, dc.getIAMUrl(), dc.getFileUploadUrl());
  }
  getIAMUrl() { return URL + "/oauth/v2/token"; }
  getFileUploadUrl() { return URL; }
}

async function initialize(token) {
  const logger = new Z.LogBuilder().level(Z.Levels.INFO).filePath(path.join(WORKDIR, "node_sdk.log")).build();
  const sdkConfig = new Z.SDKConfigBuilder().pickListValidation(false).autoRefreshFields(false).build();
  await (await new Z.InitializeBuilder())
    .environment(ZohosimDataCenter.PRODUCTION())
    .token(token)
    .store(new Z.FileStore(STORE))
    .SDKConfig(sdkConfig)
    .resourcePath(WORKDIR)
    .logger(logger)
    .initialize();
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

function storeRows() {
  const lines = fs.readFileSync(STORE, "utf8").split("\n").filter((l) => l.trim() !== "");
  const header = lines[0].split(",");
  return lines.slice(1).map((l) => Object.fromEntries(l.split(",").map((v, i) => [header[i], v])));
}

function lead(email, extra = {}) {
  const r = new Z.Record.Record();
  r.addKeyValue("Last_Name", "Last_Name" in extra ? extra.Last_Name : "Doe");
  r.addKeyValue("Company", "Acme Ltd");
  if (email !== null) r.addKeyValue("Email", email);
  for (const [k, v] of Object.entries(extra)) {
    if (k !== "Last_Name") r.addKeyValue(k, v);
  }
  return r;
}

async function upsert(records, duplicateCheckFields = ["Email"]) {
  const body = new Z.Record.BodyWrapper();
  body.setData(records);
  body.setDuplicateCheckFields(duplicateCheckFields);
  return new Z.Record.RecordOperations("Leads").upsertRecords(body);
}

function actionItems(resp, status) {
  check(resp != null, "no response");
  check(resp.getStatusCode() === status, `HTTP ${resp.getStatusCode()}, want ${status}`);
  const obj = resp.getObject();
  check(obj instanceof Z.Record.ActionWrapper, `answer parsed as ${obj?.constructor?.name}, want ActionWrapper`);
  return obj.getData();
}

const code = (item) => item.getCode().getValue();
// details are a Map in some SDK versions and a plain object in others.
const detail = (details, key) => (details instanceof Map ? details.get(key) : details[key]);
const state = {};

async function caseRefreshTokenGrant() {
  await initialize(new Z.OAuthBuilder().clientId(env.ZOHOSIM_CLIENT_ID).clientSecret(env.ZOHOSIM_CLIENT_SECRET)
    .refreshToken(env.ZOHOSIM_REFRESH_TOKEN).build());
  const rows = storeRows().filter((r) => r.refresh_token === env.ZOHOSIM_REFRESH_TOKEN);
  check(rows.length === 1, `token store rows ${JSON.stringify(storeRows())}`);
  check(rows[0].access_token.startsWith("1000."), `access token ${rows[0].access_token}`);
  check(rows[0].api_domain === URL, `api_domain ${rows[0].api_domain}`);
  // The SDK's "find user" step: GET /crm/v8/users?type=CurrentUser parsed into
  // users.ResponseWrapper (email) and GET /crm/v8/org into org.ResponseWrapper (zgid).
  const [user, zgid] = rows[0].user_name.split(":");
  check(user === SIM_USER_EMAIL && /^\d+$/.test(zgid ?? ""), `user signature ${rows[0].user_name}, want ${SIM_USER_EMAIL}:<zgid>`);
}

async function caseGrantCodeExchange() {
  await initialize(new Z.OAuthBuilder().clientId(env.ZOHOSIM_CLIENT_ID).clientSecret(env.ZOHOSIM_CLIENT_SECRET)
    .grantToken(env.ZOHOSIM_GRANT_CODE).build());
  const rows = storeRows().filter((r) => r.grant_token === env.ZOHOSIM_GRANT_CODE);
  check(rows.length === 1, `token store rows ${JSON.stringify(storeRows())}`);
  const rt = rows[0].refresh_token;
  check(rt.startsWith("1000.") && rt !== env.ZOHOSIM_REFRESH_TOKEN, `new refresh token ${rt}`);
  check(rows[0].access_token.startsWith("1000."), `access token ${rows[0].access_token}`);
  const fields = await fieldsOf("Contacts"); // the exchanged token works
  check(fields.size > 0, "no Contacts fields with the exchanged token");
}

async function caseUpsertValid() {
  const items = actionItems(await upsert([lead("ada@example.com", { First_Name: "Ada" }), lead("grace@example.com", { First_Name: "Grace" })]), 200);
  check(items.length === 2, `${items.length} items`);
  for (const it of items) {
    check(it instanceof Z.Record.SuccessResponse, `item ${it?.constructor?.name}`);
    check(code(it) === "SUCCESS" && it.getStatus().getValue() === "success", `code/status ${code(it)}`);
    check(it.getAction().getValue() === "insert", `action ${it.getAction().getValue()}`);
    const d = it.getDetails();
    check(String(detail(d, "id")).length === 19, `id ${detail(d, "id")}`);
    const created = detail(d, "Created_By"), modified = detail(d, "Modified_By");
    check(created instanceof Z.Users.MinifiedUser && String(created.getId()) === String(modified.getId()) && created.getName() === "Sim Admin",
      `Created_By/Modified_By ${created?.constructor?.name}`);
    check(detail(d, "Created_Time") instanceof Date, `Created_Time ${detail(d, "Created_Time")}`);
  }
  state.ada = String(detail(items[0].getDetails(), "id"));
  state.userId = String(detail(items[0].getDetails(), "Created_By").getId());
  check(state.ada !== String(detail(items[1].getDetails(), "id")), "two records, one id");
}

async function caseUpsertMixed() {
  // Matched on Phone, so the unique Email is checked against other records:
  // reusing Ada's Email is DUPLICATE_DATA.
  const records = [
    lead("mixed-ok@example.com", { Phone: "+1 555 0100" }),
    lead("no-last-name@example.com", { Last_Name: null, Phone: "+1 555 0101" }),
    lead("not-an-email", { Phone: "+1 555 0102" }),
    lead("ada@example.com", { Phone: "+1 555 0103" }),
    lead("also-not-an-email", { Last_Name: null, Phone: "+1 555 0104" }),
  ];
  const items = actionItems(await upsert(records, ["Phone"]), 207);
  const want = ["SUCCESS", "MANDATORY_NOT_FOUND", "INVALID_DATA", "DUPLICATE_DATA", "MULTIPLE_OR_MULTI_ERRORS"];
  const got = items.map(code);
  check(JSON.stringify(got) === JSON.stringify(want), `codes ${got}, want ${want}`);
  check(items[0] instanceof Z.Record.SuccessResponse, "item 0");
  for (const it of items.slice(1)) {
    check(it instanceof Z.Record.APIException && it.getStatus().getValue() === "error", `error item ${it?.constructor?.name}`);
  }
  check(detail(items[1].getDetails(), "api_name") === "Last_Name", "MANDATORY_NOT_FOUND details");
  check(detail(items[2].getDetails(), "api_name") === "Email", "INVALID_DATA details");
  const dup = items[3].getDetails();
  check(detail(dup, "api_name") === "Email", "DUPLICATE_DATA api_name");
  const rec = detail(dup, "duplicate_record");
  check(rec instanceof Z.Record.DuplicateRecord, `duplicate_record parsed as ${rec?.constructor?.name}`);
  check(String(rec.getId()) === state.ada, `duplicate_record id ${rec.getId()}, want ${state.ada}`);
  check(String(rec.getOwner().getId()) === state.userId, `duplicate_record.Owner ${rec.getOwner().getId()}, want the one user ${state.userId}`);
}

async function caseUpsertSameEmailUpdate() {
  const [it] = actionItems(await upsert([lead("ADA@Example.com", { First_Name: "Augusta" })]), 200);
  check(it instanceof Z.Record.SuccessResponse && it.getAction().getValue() === "update", `action ${it.getAction?.().getValue()}`);
  check(String(detail(it.getDetails(), "id")) === state.ada, `id ${detail(it.getDetails(), "id")}, want ${state.ada}`);
  check(it.getDuplicateField() === "Email", `duplicate_field ${it.getDuplicateField()}`);
}

async function caseUpsert101Records() {
  const records = Array.from({ length: 101 }, (_, i) => lead(`bulk-${String(i).padStart(3, "0")}@example.com`));
  const resp = await upsert(records);
  check(resp.getStatusCode() === 400, `HTTP ${resp.getStatusCode()}, want 400`);
  const obj = resp.getObject();
  check(obj instanceof Z.Record.APIException, `answer parsed as ${obj?.constructor?.name}, want APIException`);
  check(code(obj) === "LIMIT_EXCEEDED" && obj.getStatus().getValue() === "error", `code ${code(obj)}`);
  check(Number(detail(obj.getDetails(), "limit")) === 100, "details.limit");
}

async function fieldsOf(module) {
  const params = new Z.ParameterMap();
  await params.add(Z.Fields.GetFieldsParam.MODULE, module);
  const resp = await new Z.Fields.FieldsOperations().getFields(params);
  check(resp.getStatusCode() === 200, `HTTP ${resp.getStatusCode()}`);
  const obj = resp.getObject();
  check(obj instanceof Z.Fields.ResponseWrapper, `answer parsed as ${obj?.constructor?.name}`);
  return new Map(obj.getFields().map((f) => [f.getAPIName(), f]));
}

async function checkFields(module, extra) {
  const fields = await fieldsOf(module);
  for (const [name, f] of fields) {
    check(Number.isInteger(f.getLength()) && f.getLength() > 0, `${module}.${name} length ${f.getLength()}`);
  }
  check(fields.get("Last_Name").getSystemMandatory() === true && fields.get("Last_Name").getLength() === 80, "Last_Name");
  check(fields.get("Email").getUnique().getCasesensitive() === "false", `Email unique.casesensitive ${fields.get("Email").getUnique().getCasesensitive()}`);
  check(fields.get("Email_Opt_Out").getLength() === 5 && fields.get("Email_Opt_Out").getDataType() === "boolean", "Email_Opt_Out");
  const values = fields.get("Lead_Source").getPickListValues().map((v) => v.getActualValue());
  check(values.includes("Advertisement"), `Lead_Source values ${values}`);
  for (const [name, length] of Object.entries(extra)) {
    check(fields.get(name).getLength() === length, `${module}.${name} length ${fields.get(name).getLength()}, want ${length}`);
  }
}

async function checkLayouts() {
  const params = new Z.ParameterMap();
  await params.add(Z.Layouts.GetLayoutsParam.MODULE, "Leads");
  const resp = await new Z.Layouts.LayoutsOperations().getLayouts(params);
  check(resp.getStatusCode() === 200, `HTTP ${resp.getStatusCode()}`);
  const obj = resp.getObject();
  check(obj instanceof Z.Layouts.ResponseWrapper, `answer parsed as ${obj?.constructor?.name}`);
  const layouts = obj.getLayouts();
  check(layouts.length === 1 && layouts[0].getStatus() === "active", `layouts ${layouts.length}`);
  const required = layouts[0].getSections().flatMap((s) => s.getFields()).filter((f) => f.getRequired()).map((f) => f.getAPIName());
  check(required.join(",") === "Last_Name,Company", `required ${required}`);
}

// The grant-code exchange runs first: the SDK cannot initialize with a
// grant-code-only token once another token is initialized in the same process
// (Initializer.getEncodedKey reads the new token's missing refresh token).
// The refresh-token grant then initializes the Self Client the upsert cases use.
const CASES = [
  ["grant-code exchange", caseGrantCodeExchange],
  ["refresh-token grant", caseRefreshTokenGrant],
  ["upsert valid records", caseUpsertValid],
  ["upsert mixed batch", caseUpsertMixed],
  ["upsert same-email update", caseUpsertSameEmailUpdate],
  ["upsert 101 records", caseUpsert101Records],
  ["fields metadata Leads", () => checkFields("Leads", { Company: 200, Description: 32000 })],
  ["fields metadata Contacts", () => checkFields("Contacts", { Date_of_Birth: 20 })],
  ["layouts Leads", checkLayouts],
];

let failed = 0;
for (const [name, fn] of CASES) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
    console.error(e);
  }
}
process.exit(failed ? 1 : 0);
