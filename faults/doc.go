// Package faults holds Holdfast's fault-injection tests: they run the real
// server binary against a private PostgreSQL cluster and kill the server,
// terminate its database backends, stop and restart PostgreSQL and shut the
// server down gracefully, each in the middle of a storm of concurrent
// requests, then check that the stock accounting still balances; and they
// use up PostgreSQL's max_connections under two server processes
// (TestTooManyClients, on a cluster of its own with max_connections=30).
//
// The tests carry the build tag "faults" (plain `go test ./...` skips them)
// and need a cluster they may stop and start; run them with
//
//	make test-faults
//
// which starts that cluster (scripts/devdb.sh with DEVDB_DIR=.data/faults-pg)
// and passes it to the tests in FAULTS_DATABASE_URL, FAULTS_DEVDB and
// FAULTS_DEVDB_ENV.
package faults
