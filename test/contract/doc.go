// Package contract checks that the Zoho simulator (cmd/zohosim) answers as
// Zoho's own SDKs expect: Zoho's official Python SDK v8 (PyPI zohocrmsdk8-0,
// pinned in python/requirements.txt) and Node.js SDK v8 (npm
// @zohocrm/nodejs-sdk-8.0, pinned in node/package-lock.json) run against the
// built zohosim binary on a loopback port, steered there by a data center
// whose API and accounts URLs are the simulator's.
//
//	make test-contract ──▶ .cache/venv (pip) + node/node_modules (npm ci)
//	      └─▶ go test -tags contract ./test/contract
//	             ├─ builds cmd/zohosim, starts one process per SDK
//	             └─ python/contract.py, node/contract.mjs ──HTTP──▶ zohosim
//
// Every SDK runs the same cases (see Cases): grant-code exchange,
// refresh-token grant (with the SDKs' users/org look-up), upsert of valid
// records, of a mixed batch (MANDATORY_NOT_FOUND, INVALID_DATA,
// DUPLICATE_DATA, MULTIPLE_OR_MULTI_ERRORS), a same-email update and 101
// records (400 LIMIT_EXCEEDED), the fields metadata of Leads and Contacts,
// and the layouts of Leads (Company required in the layout). Each answer must parse into the SDK's model classes, and the
// scripts assert on the parsed objects (codes, statuses, ids).
//
// The SDKs are fixtures of this test, not dependencies of zohosink. Their
// token stores, logs and field caches go to a temporary directory. The test
// file has build tag contract, so `go test ./...` leaves it out; without the
// SDKs' runtimes (ZOHOSINK_CONTRACT_PYTHON, ZOHOSINK_CONTRACT_NODE, set by the
// Makefile) it skips, and fails instead when CI=true.
//
// The package has no code besides this comment: everything is in its test.
package contract
