package storage

import (
	"context"
	"database/sql"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lib/pq"
)

// Image is one of a product's images, in the order the product lists them.
type Image struct {
	ProductID int64   `db:"product_id"`
	Position  int     `db:"position"`
	URL       string  `db:"url"`
	AltText   *string `db:"alt_text"`
}

// NewImage is an image as createProduct and updateProduct take it.
type NewImage struct {
	URL     string
	AltText *string
}

// Image limits: a product lists at most MaxImages; a URL (a data: URL
// included) is at most MaxImageURLLen bytes.
const (
	MaxImages      = 20
	MaxImageURLLen = 16 << 10
	MaxAltTextLen  = 500
)

// validateImages checks a product's images: at most MaxImages, each URL an
// https:// URL with a host, a path on this site ("/img/a.png", not
// "//elsewhere"), or a data:image/ URL.
func validateImages(imgs []NewImage) *Error {
	if len(imgs) > MaxImages {
		return userErr(CodeInvalidInput, "a product has at most "+strconv.Itoa(MaxImages)+" images", "input", "images")
	}
	for i, img := range imgs {
		field := []string{"input", "images", strconv.Itoa(i)}
		if !validImageURL(img.URL) {
			return &Error{Code: CodeInvalidInput, Field: append(field, "url"), Message: "url must be an https:// URL, a path starting with \"/\" or a data:image/ URL, of at most " +
				strconv.Itoa(MaxImageURLLen) + " bytes"}
		}
		if img.AltText != nil && !validText(*img.AltText, MaxAltTextLen) {
			return &Error{Code: CodeInvalidInput, Field: append(field, "altText"), Message: "altText must be at most 500 characters of valid UTF-8"}
		}
	}
	return nil
}

func validImageURL(s string) bool {
	if s == "" || len(s) > MaxImageURLLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	switch {
	case strings.HasPrefix(s, "data:image/"):
		// data:image/<subtype>[;<parameter>...],<data>
		meta, _, ok := strings.Cut(s[len("data:image/"):], ",")
		subtype, _, _ := strings.Cut(meta, ";")
		return ok && subtype != "" && strings.Trim(subtype, "abcdefghijklmnopqrstuvwxyz0123456789.+-") == ""
	case strings.ContainsAny(s, " \t"):
		return false
	case strings.HasPrefix(s, "/"):
		return !strings.HasPrefix(s, "//") && !strings.HasPrefix(s, "/\\")
	case strings.HasPrefix(s, "https://"):
		u, err := url.Parse(s)
		return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil
	}
	return false
}

// replaceImages makes imgs the product's images, in order.
func replaceImages(ctx context.Context, q queryer, productID int64, imgs []NewImage) error {
	const del = `DELETE FROM product_images WHERE product_id = $1`
	const ins = `
		INSERT INTO product_images (product_id, position, url, alt_text)
		SELECT $1, t.position, t.url, t.alt_text
		FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(url, alt_text, position)`
	return writeImages(ctx, q, del, ins, productID, imgs)
}

// writeImages makes imgs the images of a product or group, in order: del
// deletes the owner's images ($1 its id), ins inserts the new ones ($1 its
// id, $2 their urls, $3 their alt texts).
func writeImages(ctx context.Context, q queryer, del, ins string, ownerID int64, imgs []NewImage) error {
	if _, err := q.ExecContext(ctx, del, ownerID); err != nil {
		return translate(err)
	}
	if len(imgs) == 0 {
		return nil
	}
	urls := make([]string, len(imgs))
	alts := make([]sql.NullString, len(imgs))
	for i, img := range imgs {
		urls[i] = img.URL
		if img.AltText != nil {
			alts[i] = sql.NullString{String: *img.AltText, Valid: true}
		}
	}
	_, err := q.ExecContext(ctx, ins, ownerID, pq.Array(urls), pq.Array(alts))
	return translate(err)
}

// ImagesByProductIDs loads the images of many products in one query, in
// order; every id asked for has an entry (empty when it has no images). It
// backs the per-request images dataloader.
func (s *Store) ImagesByProductIDs(ctx context.Context, ids []int64) (map[int64][]*Image, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT product_id, position, url, alt_text
		FROM product_images
		WHERE product_id = ANY($1)
		ORDER BY product_id, position`
	return imagesByOwner(ctx, s.hotReader(), q, ids)
}

// imagesByOwner reads images of products or groups with q ($1 the owners'
// ids; each row's owner as product_id, in order) into lists by owner.
func imagesByOwner(ctx context.Context, rq queryer, q string, ids []int64) (map[int64][]*Image, error) {
	var imgs []Image
	if err := sqlxSelect(ctx, rq, &imgs, q, pq.Array(ids)); err != nil {
		return nil, err
	}
	return byOwner(ids, imgs, func(img *Image) (int64, *Image) { return img.ProductID, img }), nil
}
