package model

import "context"

// ProductConnection is a page of products. Its totalCount is resolved only
// when a client asks for it, by Count, which counts the connection's
// filtered set (every page).
type ProductConnection struct {
	Edges    []*ProductEdge                         `json:"edges"`
	PageInfo *PageInfo                              `json:"pageInfo"`
	Count    func(ctx context.Context) (int, error) `json:"-"`
}

// ProductGroupConnection is a page of product groups; Count, like
// ProductConnection's, runs only when totalCount is asked for.
type ProductGroupConnection struct {
	Edges    []*ProductGroupEdge                    `json:"edges"`
	PageInfo *PageInfo                              `json:"pageInfo"`
	Count    func(ctx context.Context) (int, error) `json:"-"`
}
