package main

import (
	"net"
	"sync"
)

// onceCloseListener lets the drain close the listener early
// (SHUTDOWN_REFUSE_NEW_CONNECTIONS) and http.Server.Shutdown close it
// again without reporting an error.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
