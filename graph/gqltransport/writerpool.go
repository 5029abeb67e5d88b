package gqltransport

import (
	"runtime"
	"sync"
	"time"
)

// writerPool runs the websocket writers of one handler: a few goroutines
// drain the connections that have something to write, in turn. A push to
// thousands of subscribers then costs a few goroutines, not one per
// connection (thousands of goroutines made runnable at once, each growing a
// stack for the write path, starved the request handlers and doubled the
// heap). A connection whose reader stalls holds its worker in a blocked
// write until the write timeout; so whenever work is waiting and no worker
// has taken any for stallCheck, the pool adds a worker. Workers, and the
// watcher that adds them, exit when there is nothing to write.
type writerPool struct {
	size int

	mu       sync.Mutex
	queue    []*wsConn
	workers  int
	taken    uint64 // connections taken by workers, ever: progress
	watching bool
}

const stallCheck = 20 * time.Millisecond

func newWriterPool() *writerPool {
	return &writerPool{size: max(4, 2*runtime.GOMAXPROCS(0))}
}

// submit queues c for a worker (c has something to write and no worker).
func (p *writerPool) submit(c *wsConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queue = append(p.queue, c)
	if p.workers < p.size {
		p.workers++
		go p.work()
	}
	if !p.watching {
		p.watching = true
		go p.watch()
	}
}

func (p *writerPool) work() {
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.workers--
			p.queue = nil
			p.mu.Unlock()
			return
		}
		c := p.queue[0]
		p.queue[0] = nil
		p.queue = p.queue[1:]
		p.taken++
		p.mu.Unlock()
		c.writeLoop()
	}
}

// watch adds a worker whenever connections wait and every worker is stuck.
func (p *writerPool) watch() {
	t := time.NewTicker(stallCheck)
	defer t.Stop()
	last := ^uint64(0)
	for range t.C {
		p.mu.Lock()
		if p.workers == 0 && len(p.queue) == 0 {
			p.watching = false
			p.mu.Unlock()
			return
		}
		if len(p.queue) > 0 && p.taken == last {
			p.workers++
			go p.work()
		}
		last = p.taken
		p.mu.Unlock()
	}
}
