package main

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"holdfast/config"
	"holdfast/storage"
)

// connBudget is what one instance opens to PostgreSQL. The workers (reaper,
// payment actions, webhook dispatcher, stock sync) use the write pool and
// open nothing of their own.
type connBudget struct {
	Write, Read int  // the pools (DB_MAX_CONNS, DB_READ_MAX_CONNS)
	Listen      int  // the LISTEN connection, always straight to PostgreSQL
	Migrate     int  // the migrations' session, at start-up only
	Pooled      bool // the pools reach PostgreSQL through a pooler (DATABASE_DIRECT_URL set)
}

func budgetOf(cfg config.Config) connBudget {
	return connBudget{
		Write:   cfg.DBMaxConns,
		Read:    storage.ReadPoolSize(cfg.DBMaxConns, cfg.DBReadMaxConns),
		Listen:  1,
		Migrate: 1,
		Pooled:  cfg.DatabaseDirectURL != "" && cfg.DatabaseDirectURL != cfg.DatabaseURL,
	}
}

// Direct is the most connections the instance holds straight to PostgreSQL
// once it serves: its pools and the LISTEN connection, or behind a pooler
// the LISTEN connection alone.
func (b connBudget) Direct() int {
	if b.Pooled {
		return b.Listen
	}
	return b.Write + b.Read + b.Listen
}

// judge says whether the instance fits what the server has free, given
// that ours of the connections in use are the instance's own, and what to
// log about it.
func (b connBudget) judge(sc storage.ServerConnections, ours int) (bool, []any) {
	others := max(sc.InUse-ours, 0)
	free := sc.Available() - others
	attrs := []any{
		"instance_total", b.Direct(), "write_pool", b.Write, "read_pool", b.Read, "listen", b.Listen,
		"migrations_at_startup", b.Migrate,
		"max_connections", sc.MaxConnections, "superuser_reserved_connections", sc.SuperuserReserved,
		"reserved_connections", sc.Reserved, "in_use_by_others", others, "free", free,
	}
	if b.Direct() > 0 {
		attrs = append(attrs, "instances_that_fit_alone", sc.Available()/b.Direct())
	}
	if b.Pooled {
		attrs = append(attrs, "pools", "through the pooler in DATABASE_URL: count its server connections "+
			"(PgBouncer: default_pool_size + reserve_pool_size per database and user) instead of the pools")
	}
	return b.Direct() <= free, attrs
}

// checkConnBudget reads PostgreSQL's connection limits and use at start-up,
// logs what this instance may open and warns when that does not fit. It
// never stops the server: requests wait for connections (DB_CONNECT_WAIT)
// and answer SERVICE_UNAVAILABLE when none comes.
func checkConnBudget(ctx context.Context, cfg config.Config, store *storage.Store, log *slog.Logger) {
	b := budgetOf(cfg)
	db, err := sql.Open("postgres", withConnectTimeout(cfg.DirectURL()))
	if err != nil {
		log.Warn("connection budget not checked", "err", err.Error())
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	sc, err := storage.ReadServerConnections(cctx, db)
	if err != nil {
		log.Warn("connection budget not checked", "err", err.Error())
		return
	}
	ours := 1 // the session reading
	if !b.Pooled {
		w, r := store.OpenConnections()
		ours += w + r
	}
	fits, attrs := b.judge(sc, ours)
	if !fits {
		log.Warn("connection budget: this instance may open more connections than PostgreSQL has free; "+
			"requests will wait for one and may answer SERVICE_UNAVAILABLE. Lower DB_MAX_CONNS and DB_READ_MAX_CONNS, "+
			"or raise max_connections (docs/operations.md, Connection budget)", attrs...)
		return
	}
	log.Info("connection budget", attrs...)
}
