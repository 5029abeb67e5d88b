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
