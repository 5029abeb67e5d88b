// Package config is Holdfast's configuration: every environment variable the
// server reads, with its default. It imports nothing of Holdfast's.
//
// Each default is defined here once, in the envDefault tags, and nowhere
// else: no other package repeats one as a literal. Package main maps a
// Config onto each package's options (wiring.go) and passes every setting.
// Packages graph and httpapi, whose handlers tests build by hand, fill a
// zero setting from Defaults; the others (storage, payments, webhooks,
// graph/live) take their settings as given, and their tests get complete
// ones from one helper (storagetest.Options for the store). See
// docs/operations.md for what each setting does.
package config

import (
	"log/slog"
	"sync"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is the server's configuration.
type Config struct {
	DatabaseURL string `env:"DATABASE_URL"`
	// DatabaseDirectURL is a session connection straight to PostgreSQL,
	// for what needs one: the LISTEN connection and the migrations' session
	// advisory lock. Set it when DATABASE_URL is a pooler in transaction
	// mode (PgBouncer); empty, DATABASE_URL serves for both.
	DatabaseDirectURL string        `env:"DATABASE_DIRECT_URL"`
	ListenAddr        string        `env:"LISTEN_ADDR" envDefault:":8080"`
	AdminToken        string        `env:"ADMIN_TOKEN"`
	CORSOrigins       []string      `env:"CORS_ORIGINS" envSeparator:","`
	CORSCredentials   bool          `env:"CORS_ALLOW_CREDENTIALS" envDefault:"false"`
	HoldTTL           time.Duration `env:"HOLD_TTL" envDefault:"15m"`
	ReaperInterval    time.Duration `env:"REAPER_INTERVAL" envDefault:"2s"`
	// DBMaxConns and DBReadMaxConns size the write pool (reservations,
	// transactions, the workers) and the read pool that renders answers
	// (cart lines, products, pages). With the LISTEN connection, one
	// instance opens at most 12 + 6 + 1 = 19 connections (20 while it
	// migrates at start-up), so four instances fit a stock PostgreSQL
	// (max_connections 100, 3 reserved) with room to spare: see "Connection
	// budget" in docs/operations.md.
	DBMaxConns     int `env:"DB_MAX_CONNS" envDefault:"12"`
	DBReadMaxConns int `env:"DB_READ_MAX_CONNS" envDefault:"6"`
	// DBConnectWait is how long a request waits out PostgreSQL refusing a
	// new connection (too many clients, starting up) before it answers
	// SERVICE_UNAVAILABLE; never past the request's deadline.
	DBConnectWait time.Duration `env:"DB_CONNECT_WAIT" envDefault:"1s"`
	// DBPrepare prepares the hot statements once per connection; false for
	// a pooler in transaction mode (PgBouncer 1.18).
	DBPrepare     bool `env:"DB_PREPARE" envDefault:"true"`
	Introspection bool `env:"GRAPHQL_INTROSPECTION" envDefault:"true"`
	GraphiQL      bool `env:"GRAPHIQL" envDefault:"true"`
	SeedDemo      bool `env:"SEED_DEMO" envDefault:"false"`
	// StorefrontDir, if set, is a built storefront (examples/storefront's
	// dist/, `make storefront`) served at /shop/.
	StorefrontDir   string        `env:"STOREFRONT_DIR"`
	DefaultCurrency string        `env:"DEFAULT_CURRENCY" envDefault:"USD"`
	LogLevel        slog.Level    `env:"LOG_LEVEL" envDefault:"INFO"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// ShutdownDrainDelay is how long a stopping server keeps serving (with
	// keep-alives off and /readyz failing) before it closes its listener.
	ShutdownDrainDelay time.Duration `env:"SHUTDOWN_DRAIN_DELAY" envDefault:"500ms"`
	// ShutdownRefuseNew closes the listener as the drain starts: new
	// connections are refused at once (a proxy that retries a refused
	// connection on another instance, like nginx, loses nothing), while the
	// connections already open are served through the drain with
	// Connection: close. Off, the listener closes after the drain delay
	// (for load balancers that stop sending only once /readyz fails).
	ShutdownRefuseNew bool `env:"SHUTDOWN_REFUSE_NEW_CONNECTIONS" envDefault:"false"`
	// PprofAddr, if set (e.g. 127.0.0.1:6060), serves net/http/pprof there,
	// on its own listener, never on the public one.
	PprofAddr string `env:"PPROF_ADDR"`
	// MetricsAddr, if set (e.g. 127.0.0.1:9090), serves /metrics there
	// without auth; on the public listener /metrics needs the admin token.
	MetricsAddr    string        `env:"METRICS_ADDR"`
	IdempotencyTTL time.Duration `env:"IDEMPOTENCY_TTL" envDefault:"24h"`

	StockPush time.Duration `env:"STOCK_PUSH_INTERVAL" envDefault:"100ms"`
	// A product at least StockPushLargeAudience subscriptions watch is
	// pushed at most every StockPushLargeInterval (0 = no pacing).
	StockPushLargeAudience int           `env:"STOCK_PUSH_LARGE_AUDIENCE" envDefault:"1000"`
	StockPushLargeInterval time.Duration `env:"STOCK_PUSH_LARGE_INTERVAL" envDefault:"200ms"`
	MaxSubsPerConn         int           `env:"MAX_SUBSCRIPTIONS_PER_CONNECTION" envDefault:"20"`
	MaxProductsSub         int           `env:"MAX_PRODUCTS_PER_SUBSCRIPTION" envDefault:"100"`
	WSKeepAlive            time.Duration `env:"WS_KEEPALIVE" envDefault:"10s"`
	// MaxWSPerIP caps open websockets per client address (-1: no cap).
	MaxWSPerIP int `env:"WS_MAX_CONNECTIONS_PER_IP" envDefault:"100"`
	// WSWriteTimeout bounds one batch of writes to a socket: a connection
	// whose reader stalls longer is dropped.
	WSWriteTimeout time.Duration `env:"WS_WRITE_TIMEOUT" envDefault:"10s"`
	// WSQueueBytes bounds the bytes of messages (other than the conflated
	// stock frames) queued for one socket: past it the connection is
	// dropped.
	WSQueueBytes int `env:"WS_QUEUE_BYTES" envDefault:"262144"`

	MaxBodyBytes   int64         `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"10s"`
	MaxComplexity  int           `env:"MAX_COMPLEXITY" envDefault:"1000"`
	MaxDepth       int           `env:"MAX_DEPTH" envDefault:"12"`
	MaxRootFields  int           `env:"MAX_ROOT_FIELDS" envDefault:"10"`
	MaxAliases     int           `env:"MAX_ALIASES" envDefault:"30"`
	MaxTokens      int           `env:"MAX_QUERY_TOKENS" envDefault:"15000"`
	APQCacheSize   int           `env:"APQ_CACHE_SIZE" envDefault:"1000"`
	// Mutation rate limits (a negative rate disables one). Loopback clients
	// skip the per-address limit unless RateLoopback.
	RateIP        float64 `env:"RATE_LIMIT_IP" envDefault:"1000"`
	RateIPBurst   int     `env:"RATE_LIMIT_IP_BURST" envDefault:"2000"`
	RateCart      float64 `env:"RATE_LIMIT_CART" envDefault:"50"`
	RateCartBurst int     `env:"RATE_LIMIT_CART_BURST" envDefault:"500"`
	RateLoopback  bool    `env:"RATE_LIMIT_LOOPBACK" envDefault:"false"`
	// TrustedProxies are the proxies (CIDR prefixes or addresses, comma
	// separated) whose X-Forwarded-For names the client; empty, every
	// client is its peer address (httpapi.TrustedProxies).
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`
	// Searches (products with a query) per second and burst per client
	// address, and the statement_timeout of a search's statements.
	RateSearch      float64       `env:"RATE_LIMIT_SEARCH" envDefault:"10"`
	RateSearchBurst int           `env:"RATE_LIMIT_SEARCH_BURST" envDefault:"40"`
	SearchTimeout   time.Duration `env:"SEARCH_STATEMENT_TIMEOUT" envDefault:"2s"`

	// Customer accounts (issue 24; docs/customers.md): how long an access
	// token lives, and sign-in attempts per second and burst, per client
	// address and per email.
	CustomerTokenTTL time.Duration `env:"CUSTOMER_TOKEN_TTL" envDefault:"720h"`
	RateSignIn       float64       `env:"RATE_LIMIT_SIGNIN" envDefault:"0.2"`
	RateSignInBurst  int           `env:"RATE_LIMIT_SIGNIN_BURST" envDefault:"10"`

	// Stock in several locations (docs/locations.md): the order in which a
	// sold order's units are taken from the locations, priority (lowest
	// priority number first) or most_stock (the location holding the most
	// units first). Checked at start-up.
	AllocationStrategy string `env:"ALLOCATION_STRATEGY" envDefault:"priority"`
	// Gift cards (docs/giftcards.md): cartApplyGiftCard attempts per second
	// and burst, per cart and per client address, so that codes cannot be
	// guessed by brute force.
	RateGiftCardGuess      float64 `env:"RATE_LIMIT_GIFT_CARD_GUESS" envDefault:"0.1"`
	RateGiftCardGuessBurst int     `env:"RATE_LIMIT_GIFT_CARD_GUESS_BURST" envDefault:"5"`

	// Checkout with payment (issue 13; docs/payments.md).
	// PaymentProvider is manual (an admin confirms with confirmPayment) or
	// stripe (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET required).
	PaymentProvider string        `env:"PAYMENT_PROVIDER" envDefault:"manual"`
	PaymentTTL      time.Duration `env:"PAYMENT_TTL" envDefault:"15m"`
	// PaymentActionsInterval is how often queued provider side effects
	// (cancelling intents, refunds) are looked for.
	PaymentActionsInterval time.Duration `env:"PAYMENT_ACTIONS_INTERVAL" envDefault:"2s"`
	StripeSecretKey        string        `env:"STRIPE_SECRET_KEY"`
	StripeWebhookSecret    string        `env:"STRIPE_WEBHOOK_SECRET"`
	// StripeAPIBase points the Stripe client elsewhere (tests: stripe-mock).
	StripeAPIBase string `env:"STRIPE_API_BASE"`

	MaxLineQuantity int `env:"MAX_LINE_QUANTITY" envDefault:"1000"`
	MaxCartQuantity int `env:"MAX_CART_QUANTITY" envDefault:"10000"`
	MaxCartLines    int `env:"MAX_CART_LINES" envDefault:"200"`

	Webhooks Webhooks
}

// Webhooks configures webhook delivery (package webhooks; see
// docs/partners.md).
type Webhooks struct {
	// AllowPrivate lets endpoints use http and reach loopback and private
	// addresses: tests and local development only.
	AllowPrivate bool `env:"WEBHOOK_ALLOW_PRIVATE" envDefault:"false"`
	// DispatchInterval is how often the outbox is polled when idle (0
	// or less: this instance delivers nothing).
	DispatchInterval time.Duration `env:"WEBHOOK_DISPATCH_INTERVAL" envDefault:"1s"`
	// Timeout bounds one delivery attempt.
	Timeout time.Duration `env:"WEBHOOK_TIMEOUT" envDefault:"5s"`
	// RetryBase is the first retry's delay, doubling up to RetryMax.
	RetryBase time.Duration `env:"WEBHOOK_RETRY_BASE" envDefault:"30s"`
	RetryMax  time.Duration `env:"WEBHOOK_RETRY_MAX" envDefault:"1h"`
	// RetryFor is how long a delivery is retried before it fails.
	RetryFor time.Duration `env:"WEBHOOK_RETRY_FOR" envDefault:"24h"`
	// DisableAfter disables an endpoint after this many deliveries in a
	// row failed.
	DisableAfter int `env:"WEBHOOK_DISABLE_AFTER" envDefault:"10"`
	// Retention is how long delivered and failed deliveries are kept
	// (webhookDeliveries shows them) before they are purged.
	Retention time.Duration `env:"WEBHOOK_RETENTION" envDefault:"168h"`
	// Concurrency is how many deliveries one instance has in flight.
	Concurrency int `env:"WEBHOOK_CONCURRENCY" envDefault:"8"`
}

// DirectURL is the URL of a session connection straight to PostgreSQL:
// DATABASE_DIRECT_URL, else DATABASE_URL.
func (c Config) DirectURL() string {
	if c.DatabaseDirectURL != "" {
		return c.DatabaseDirectURL
	}
	return c.DatabaseURL
}

// Load reads the configuration from the environment.
func Load() (Config, error) { return env.ParseAs[Config]() }

var (
	defaultsOnce sync.Once
	defaults     Config
)

// Defaults is the configuration of an empty environment.
func Defaults() Config {
	defaultsOnce.Do(func() {
		var err error
		defaults, err = env.ParseAsWithOptions[Config](env.Options{Environment: map[string]string{}})
		if err != nil {
			panic("config: the defaults do not parse: " + err.Error())
		}
	})
	return defaults
}
