package main

// Wiring: the configuration mapped onto each package's options. Package
// config imports nothing of ours, and the packages configured here take
// their settings as given (graph and httpapi fill a zero one from
// config.Defaults()): this file is the one place a Config becomes options.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"holdfast/config"
	"holdfast/graph"
	"holdfast/graph/live"
	"holdfast/httpapi"
	"holdfast/payments"
	"holdfast/storage"
	"holdfast/webhooks"
)

// storageOptions is the store's part of the configuration.
func storageOptions(cfg config.Config) storage.Options {
	return storage.Options{
		HoldTTL:         cfg.HoldTTL,
		DefaultCurrency: cfg.DefaultCurrency,
		IdempotencyTTL:  cfg.IdempotencyTTL,
		MaxLineQuantity: cfg.MaxLineQuantity,
		MaxCartQuantity: cfg.MaxCartQuantity,
		MaxCartLines:    cfg.MaxCartLines,
		ReadMaxConns:    cfg.DBReadMaxConns,
		ConnectWait:     cfg.DBConnectWait,
		NoPrepare:       !cfg.DBPrepare,
		SearchTimeout:   orDefault(cfg.SearchTimeout, config.Defaults().SearchTimeout),

		AllocationStrategy: cfg.AllocationStrategy,
	}
}

// newHub is the live hub that pushes stock and cart changes to
// subscriptions.
func newHub(cfg config.Config, store *storage.Store, log *slog.Logger) *live.Hub {
	hub := live.New(store, log, orDefault(cfg.StockPush, config.Defaults().StockPush))
	hub.SetLargeAudience(cfg.StockPushLargeAudience, cfg.StockPushLargeInterval)
	return hub
}

// paymentsOptions is the payment service's part of the configuration.
func paymentsOptions(cfg config.Config, log *slog.Logger) payments.Options {
	return payments.Options{TTL: orDefault(cfg.PaymentTTL, config.Defaults().PaymentTTL), Log: log}
}

// paymentProvider builds the provider PAYMENT_PROVIDER names, and the
// webhook secret it needs.
func paymentProvider(cfg config.Config) (payments.Provider, string, error) {
	switch cfg.PaymentProvider {
	case payments.ManualName:
		return payments.Manual{}, "", nil
	case payments.StripeName:
		if cfg.StripeSecretKey == "" || cfg.StripeWebhookSecret == "" {
			return nil, "", errors.New("PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")
		}
		return payments.NewStripe(payments.StripeConfig{SecretKey: cfg.StripeSecretKey, APIBase: cfg.StripeAPIBase}), cfg.StripeWebhookSecret, nil
	default:
		return nil, "", fmt.Errorf("PAYMENT_PROVIDER=%q: want manual or stripe", cfg.PaymentProvider)
	}
}

// webhooksOptions is the webhook dispatcher's part of the configuration.
func webhooksOptions(c config.Webhooks, log *slog.Logger) webhooks.Options {
	return webhooks.Options{
		Interval: c.DispatchInterval, Timeout: c.Timeout, AllowPrivate: c.AllowPrivate,
		RetryBase: c.RetryBase, RetryMax: c.RetryMax, RetryFor: c.RetryFor,
		DisableAfter: c.DisableAfter, Retention: c.Retention, Log: log,
		Concurrency: orDefault(c.Concurrency, config.Defaults().Webhooks.Concurrency),
	}
}

// runWebhooks delivers webhooks until ctx ends (WEBHOOK_DISPATCH_INTERVAL
// <= 0: this instance delivers none).
func runWebhooks(ctx context.Context, c config.Webhooks, store *storage.Store, log *slog.Logger) {
	if c.DispatchInterval <= 0 {
		return
	}
	if c.AllowPrivate {
		log.Warn("WEBHOOK_ALLOW_PRIVATE is set: webhooks may reach loopback and private addresses")
	}
	webhooks.New(store, webhooksOptions(c, log)).Run(ctx)
}

// graphConfig is the GraphQL handler's part of the configuration; build
// adds the handler's dependencies (store, hub, payments, metrics).
func graphConfig(cfg config.Config) graph.HandlerConfig {
	return graph.HandlerConfig{
		Introspection:              cfg.Introspection,
		AdminToken:                 cfg.AdminToken,
		MaxSubscriptionsPerConn:    cfg.MaxSubsPerConn,
		MaxProductsPerSubscription: cfg.MaxProductsSub,
		WebsocketKeepAlive:         cfg.WSKeepAlive,
		WebsocketWriteTimeout:      cfg.WSWriteTimeout,
		WebsocketMaxQueued:         cfg.WSQueueBytes,
		RequestTimeout:             cfg.RequestTimeout,
		Limits: graph.LimitConfig{
			MaxComplexity:           cfg.MaxComplexity,
			MaxDepth:                cfg.MaxDepth,
			MaxRootFields:           cfg.MaxRootFields,
			MaxAliases:              cfg.MaxAliases,
			MaxTokens:               cfg.MaxTokens,
			PerAddress:              httpapi.NewKeyedLimiter(cfg.RateIP, cfg.RateIPBurst),
			PerCart:                 httpapi.NewKeyedLimiter(cfg.RateCart, cfg.RateCartBurst),
			Searches:                httpapi.NewKeyedLimiter(cfg.RateSearch, cfg.RateSearchBurst),
			SignInPerAddress:        httpapi.NewKeyedLimiter(cfg.RateSignIn, cfg.RateSignInBurst),
			SignInPerEmail:          httpapi.NewKeyedLimiter(cfg.RateSignIn, cfg.RateSignInBurst),
			GiftCardGuessPerCart:    httpapi.NewKeyedLimiter(cfg.RateGiftCardGuess, cfg.RateGiftCardGuessBurst),
			GiftCardGuessPerAddress: httpapi.NewKeyedLimiter(cfg.RateGiftCardGuess, cfg.RateGiftCardGuessBurst),
			LimitLoopback:           cfg.RateLoopback,
		},
		APQCacheSize:        cfg.APQCacheSize,
		CustomerTokenTTL:    cfg.CustomerTokenTTL,
		WebhookAllowPrivate: cfg.Webhooks.AllowPrivate,
	}
}

// apiConfig is the transport's part of the configuration: proxies are
// TRUSTED_PROXIES parsed, origin the CORS policy's origin check.
func apiConfig(cfg config.Config, proxies httpapi.TrustedProxies, origin func(string) bool) httpapi.APIConfig {
	return httpapi.APIConfig{
		AdminToken:              cfg.AdminToken,
		Guard:                   httpapi.GuardConfig{MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout, TrustedProxies: proxies},
		Origin:                  origin,
		MaxWebsocketsPerAddress: cfg.MaxWSPerIP,
	}
}

// orDefault is v, or def (config's default) when v is not positive: a
// setting these packages require took its default when set to 0 or less
// before the packages stopped repeating config's defaults.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
