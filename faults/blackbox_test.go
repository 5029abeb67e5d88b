//go:build faults

package faults

import "holdfast/internal/blackbox"

// What this suite uses of the helpers it shares with the other black-box
// suite, under the names its tests use.
type (
	outcome  = blackbox.Outcome
	recorder = blackbox.Recorder
)

const (
	classOK        = blackbox.ClassOK
	classUserError = blackbox.ClassUserError
	classGQLError  = blackbox.ClassGQLError
	classTransport = blackbox.ClassTransport
	classBad       = blackbox.ClassBad
	qCreateCart    = blackbox.QCreateCart
	qAddToCart     = blackbox.QAddToCart
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
	getStatus       = blackbox.GetStatus
	createCart      = blackbox.CreateCart
)
