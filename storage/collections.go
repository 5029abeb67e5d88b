package storage

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Collection is a named, curated group of products.
type Collection struct {
	ID          int64     `db:"id"`
	Handle      string    `db:"handle"`
	Title       string    `db:"title"`
	Description *string   `db:"description"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

const collectionColumns = `id, handle, title, description, created_at, updated_at`

// Collection limits.
const (
	MaxTitleLen = 200
	// MaxCollectionProducts bounds the products one call adds or removes.
	MaxCollectionProducts = 250
)

// NewCollection is the input of CreateCollection.
type NewCollection struct {
	Handle      *string // nil: derived from the title
	Title       string
	Description *string
	// IdempotencyKey, if set, makes a repeat with the same input create
	// nothing and answer what the first attempt answered.
	IdempotencyKey string `json:"-"`
}

// CollectionUpdate is the input of UpdateCollection; nil fields stay
// unchanged.
type CollectionUpdate struct {
	Handle      *string
	Title       *string
	Description *string // "" clears it
}

// collectionNotFound refuses an unknown collection id, at the input path
// field (["input", "collectionId"] or ["collectionId"]).
func collectionNotFound(field ...string) *Error {
	return userErr(CodeCollectionNotFound, "no collection with this id", field...)
}

func validateTitle(title *string) *Error {
	if title == nil {
		return nil
	}
	*title = strings.TrimSpace(*title)
	if *title == "" || !validText(*title, MaxTitleLen) {
		return userErr(CodeInvalidInput, "title must be 1-200 characters of valid UTF-8", "input", "title")
	}
	return nil
}

func validateCollectionFields(handle, description *string) *Error {
	if handle != nil && !ValidHandle(*handle) {
		return handleFormatErr()
	}
	if description != nil && !validText(*description, MaxDescriptionLen) {
		return userErr(CodeInvalidInput, "description must be at most 5000 characters of valid UTF-8", "input", "description")
	}
	return nil
}

// createCollectionSQL inserts a collection; $4 says whether $1 is a base
// handle to make unique (derived from the title) or the handle as given.
var createCollectionSQL = `
	INSERT INTO collections (handle, title, description)
	VALUES (CASE WHEN $4 THEN ` + freeHandleSQL("collections", "$1::text") + ` ELSE $1 END, $2, $3)
	RETURNING ` + collectionColumns

// CreateCollection adds a collection. Its handle follows the rules of
// product handles (see CreateProduct).
func (s *Store) CreateCollection(ctx context.Context, in NewCollection) (*Collection, error) {
	if err := validateTitle(&in.Title); err != nil {
		return nil, err
	}
	if err := validateCollectionFields(in.Handle, in.Description); err != nil {
		return nil, err
	}
	handle, derived := "", in.Handle == nil
	if derived {
		handle = Slugify(in.Title, "collection")
	} else {
		handle = *in.Handle
	}
	var c Collection
	create := func(ctx context.Context, tx *Tx) error {
		if derived {
			if err := lockHandleBase(ctx, tx.q, "collections", handle); err != nil {
				return err
			}
		}
		return sqlxGet(ctx, tx.q, &c, createCollectionSQL, handle, in.Title, in.Description, derived)
	}
	if in.IdempotencyKey != "" {
		// One transaction with the key's record: the derived handle's retry
		// rolls back to a savepoint instead.
		out, _, err := runKeyed(ctx, s, adminScope, in.IdempotencyKey, "createCollection", inputHash("createCollection", in), func(ctx context.Context, tx *Tx) (*Collection, error) {
			var err error
			for attempt := 1; attempt <= handleAttempts; attempt++ {
				if _, err := tx.q.ExecContext(ctx, `SAVEPOINT create_collection`); err != nil {
					return nil, translate(err)
				}
				if err = create(ctx, tx); !derived || !errors.Is(err, ErrDuplicateHandle) {
					break
				}
				if _, err := tx.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT create_collection`); err != nil {
					return nil, translate(err)
				}
			}
			if err != nil {
				return nil, err
			}
			out := c
			return &out, nil
		})
		return out, err
	}
	var err error
	for attempt := 1; attempt <= handleAttempts; attempt++ {
		if err = s.WithTx(ctx, create); !derived || !errors.Is(err, ErrDuplicateHandle) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// UpdateCollection changes a collection's handle, title or description.
func (s *Store) UpdateCollection(ctx context.Context, id int64, in CollectionUpdate) (*Collection, error) {
	if err := validateTitle(in.Title); err != nil {
		return nil, err
	}
	if err := validateCollectionFields(in.Handle, in.Description); err != nil {
		return nil, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		UPDATE collections
		SET handle = COALESCE($2, handle),
		    title = COALESCE($3, title),
		    description = CASE WHEN $4::text IS NULL THEN description ELSE NULLIF($4, '') END,
		    updated_at = now()
		WHERE id = $1
		RETURNING ` + collectionColumns
	var c Collection
	err := sqlxGet(ctx, s.pool(), &c, q, id, in.Handle, in.Title, in.Description)
	if errors.Is(err, ErrNotFound) {
		return nil, collectionNotFound("input", "collectionId")
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteCollection deletes a collection (its products stay in the catalog).
func (s *Store) DeleteCollection(ctx context.Context, id int64) error {
	return s.DeleteCollectionKeyed(ctx, id, "")
}

// DeleteCollectionKeyed is DeleteCollection with an idempotency key (""
// for none): a repeat answers the first attempt's success, not
// COLLECTION_NOT_FOUND.
func (s *Store) DeleteCollectionKeyed(ctx context.Context, id int64, key string) error {
	_, err := adminKeyed(ctx, s, key, "deleteCollection", requestHash("deleteCollection", id), func(ctx context.Context, q queryer) (int64, error) {
		var deleted int64
		err := sqlxGet(ctx, q, &deleted, `DELETE FROM collections WHERE id = $1 RETURNING id`, id)
		if errors.Is(err, ErrNotFound) {
			return 0, collectionNotFound("collectionId")
		}
		return deleted, err
	})
	return err
}

func validateProductIDs(ids []int64) *Error {
	if len(ids) > MaxCollectionProducts {
		return userErr(CodeInvalidInput, "at most "+strconv.Itoa(MaxCollectionProducts)+" products per call", "productIds")
	}
	return nil
}

// AddProductsToCollection adds products to a collection, all or none: an
// id that is no product (0 included, which callers pass for a malformed
// one) refuses the whole call with PRODUCT_NOT_FOUND. Products already in
// the collection stay as they are.
func (s *Store) AddProductsToCollection(ctx context.Context, id int64, productIDs []int64) (*Collection, error) {
	if err := validateProductIDs(productIDs); err != nil {
		return nil, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	// The collection's row is updated (and so locked) only when every
	// product exists, and the members are inserted for it only: a refusal
	// writes nothing.
	const q = `
		WITH wanted AS (
			SELECT DISTINCT w.id FROM unnest($2::bigint[]) AS w(id)
		), touched AS (
			UPDATE collections
			SET updated_at = now()
			WHERE id = $1
			  AND NOT EXISTS (SELECT 1 FROM wanted WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = wanted.id))
			RETURNING ` + collectionColumns + `
		), added AS (
			INSERT INTO collection_products (collection_id, product_id)
			SELECT touched.id, wanted.id FROM touched, wanted
			ON CONFLICT DO NOTHING
			RETURNING 1
		)
		SELECT touched.*, (SELECT count(*) FROM added) AS added FROM touched`
	var row struct {
		Collection
		Added int `db:"added"`
	}
	err := sqlxGet(ctx, s.pool(), &row, q, id, pq.Array(productIDs))
	if errors.Is(err, ErrNotFound) {
		c, err := s.CollectionByID(ctx, id)
		switch {
		case err != nil:
			return nil, err
		case c == nil:
			return nil, collectionNotFound("collectionId")
		default:
			return nil, userErr(CodeProductNotFound, "no product with one of these ids", "productIds")
		}
	}
	if err != nil {
		return nil, err
	}
	return &row.Collection, nil
}

// RemoveProductsFromCollection removes products from a collection; ids that
// are not in it are ignored.
func (s *Store) RemoveProductsFromCollection(ctx context.Context, id int64, productIDs []int64) (*Collection, error) {
	if err := validateProductIDs(productIDs); err != nil {
		return nil, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		WITH touched AS (
			UPDATE collections
			SET updated_at = now()
			WHERE id = $1
			RETURNING ` + collectionColumns + `
		), removed AS (
			DELETE FROM collection_products cp
			USING touched
			WHERE cp.collection_id = touched.id AND cp.product_id = ANY($2)
			RETURNING 1
		)
		SELECT touched.*, (SELECT count(*) FROM removed) AS removed FROM touched`
	var row struct {
		Collection
		Removed int `db:"removed"`
	}
	err := sqlxGet(ctx, s.pool(), &row, q, id, pq.Array(productIDs))
	if errors.Is(err, ErrNotFound) {
		return nil, collectionNotFound("collectionId")
	}
	if err != nil {
		return nil, err
	}
	return &row.Collection, nil
}

// CollectionByID returns the collection, or nil when there is none.
func (s *Store) CollectionByID(ctx context.Context, id int64) (*Collection, error) {
	return s.collectionWhere(ctx, `id = $1`, id)
}

// CollectionByHandle returns the collection with this handle, or nil.
func (s *Store) CollectionByHandle(ctx context.Context, handle string) (*Collection, error) {
	if !ValidHandle(handle) {
		return nil, nil
	}
	return s.collectionWhere(ctx, `handle = $1`, handle)
}

func (s *Store) collectionWhere(ctx context.Context, cond string, arg any) (*Collection, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var c Collection
	err := sqlxGet(ctx, s.pool(), &c, `SELECT `+collectionColumns+` FROM collections WHERE `+cond, arg)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListCollections returns up to first collections with id > after, in id
// order, and whether more follow and whether any precede after.
func (s *Store) ListCollections(ctx context.Context, first int, after int64) (cs []*Collection, more, prior bool, err error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT ` + collectionColumns + `
		FROM collections
		WHERE id > $1
		ORDER BY id
		LIMIT $2`
	if err := sqlxSelect(ctx, s.pool(), &cs, q, after, first+1); err != nil {
		return nil, false, false, err
	}
	if more = len(cs) > first; more {
		cs = cs[:first]
	}
	if after > 0 {
		if err := sqlxGet(ctx, s.pool(), &prior, `SELECT EXISTS (SELECT 1 FROM collections WHERE id <= $1)`, after); err != nil {
			return nil, false, false, err
		}
	}
	return cs, more, prior, nil
}

// CollectionsByProductIDs loads the collections of many products in one
// query, in collection id order; every id asked for has an entry. It backs
// the per-request product collections dataloader.
func (s *Store) CollectionsByProductIDs(ctx context.Context, ids []int64) (map[int64][]*Collection, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT cp.product_id, c.id, c.handle, c.title, c.description, c.created_at, c.updated_at
		FROM collection_products cp
		JOIN collections c ON c.id = cp.collection_id
		WHERE cp.product_id = ANY($1)
		ORDER BY cp.product_id, c.id`
	return collectionsByOwner(ctx, s.pool(), q, ids)
}

// collectionsByOwner reads collections of products or groups with q ($1
// the owners' ids; each row's owner as product_id, then the collection, in
// order) into lists by owner.
func collectionsByOwner(ctx context.Context, rq queryer, q string, ids []int64) (map[int64][]*Collection, error) {
	type row struct {
		ProductID int64 `db:"product_id"`
		Collection
	}
	var rows []row
	if err := sqlxSelect(ctx, rq, &rows, q, pq.Array(ids)); err != nil {
		return nil, err
	}
	return byOwner(ids, rows, func(r *row) (int64, *Collection) {
		c := r.Collection
		return r.ProductID, &c
	}), nil
}
