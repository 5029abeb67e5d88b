// Package client is a typed Go client of the Holdfast API for partners,
// generated with genqlient from schema/*.graphqls and operations.graphql
// (go generate), plus webhook signature verification (VerifyWebhook).
//
// It imports nothing of the server: partners import it alone.
package client

//go:generate go tool genqlient genqlient.yaml
