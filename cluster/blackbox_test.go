//go:build cluster

package cluster

import "holdfast/internal/blackbox"

// What this suite uses of the helpers it shares with the other black-box
// suite, under the names its tests use.
type (
	outcome  = blackbox.Outcome
	recorder = blackbox.Recorder
	client   = blackbox.Client
	world    = blackbox.World
	gqlError = blackbox.GQLError
)

const (
	classOK        = blackbox.ClassOK
	classUserError = blackbox.ClassUserError
	classGQLError  = blackbox.ClassGQLError
	qCreateCart    = blackbox.QCreateCart
	qAddToCart     = blackbox.QAddToCart
	qRemoveLine    = blackbox.QRemoveLine
	qCreateProduct = blackbox.QCreateProduct
	qAdjustStock   = blackbox.QAdjustStock
)

var (
	openDB          = blackbox.OpenDB
	newClient       = blackbox.NewClient
	summarize       = blackbox.Summarize
	filter          = blackbox.Filter
	count           = blackbox.Count
	setupWorld      = blackbox.SetupWorld
	checkInvariants = blackbox.CheckInvariants
	checkAuditAPI   = blackbox.CheckAuditAPI
	createCart      = blackbox.CreateCart
)
