// Package cluster holds Holdfast's tests of a production topology: nginx in
// front of several replicas of the real server, PgBouncer in transaction
// mode between them and PostgreSQL (scripts/cluster.sh). They drive it
// from outside only — HTTP, websockets through nginx or straight to one
// replica, SQL for the audit, and scripts/cluster.sh to restart, kill and
// start replicas and PgBouncer — and import nothing of the server.
//
// The tests carry the build tag "cluster" (plain `go test ./...` skips
// them) and need a running cluster; run them with
//
//	make test-cluster
//
// which brings up a cluster of its own (.data/test-cluster, nginx on
// 127.0.0.1:8190, database holdfast_cluster_test), passes what
// `scripts/cluster.sh env` prints (CLUSTER_URL, CLUSTER_REPLICA_URLS,
// CLUSTER_DATABASE_URL, ADMIN_TOKEN, ...) and CLUSTER_SCRIPT, and tears it
// down. Without CLUSTER_URL the tests skip, except under CI=true, where
// they fail.
package cluster
