package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
	"github.com/crmsync/crmsync/sync/runs"
)

// patience says how long a command waits out failing calls: a scheduled
// sync retries patiently, an interactive check answers within seconds.
type patience int

const (
	patient patience = iota
	interactive
)

// interactiveTimeout caps one call of an interactive command below the
// configured timeouts, so check answers within seconds.
const interactiveTimeout = 20 * time.Second

// clientOptions are the options both clients take alike, made with each
// client's own constructors: the configured timeout, which an interactive
// command caps and pairs with quickRetry (two attempts, soon after each
// other), the version and the logger.
func clientOptions[O any](a *app, p patience, timeout time.Duration, withTimeout func(time.Duration) O,
	withVersion func(string) O, withLogger func(*slog.Logger) O, quickRetry O) []O {
	opts := []O{withTimeout(timeout), withVersion(readVersion().Version), withLogger(a.log)}
	if p == interactive {
		opts = append(opts, quickRetry, withTimeout(min(timeout, interactiveTimeout)))
	}
	return opts
}

// newRetailCRM builds the RetailCRM client from the configuration; extra
// options come last (backfill adds the account's time zone).
func (a *app) newRetailCRM(cfg *config.Config, p patience, extra ...retailcrm.Option) (*retailcrm.Client, error) {
	opts := []retailcrm.Option{
		retailcrm.WithHTTPClient(&http.Client{Transport: a.apis.Transport(runs.APIRetailCRM, nil)}),
		retailcrm.WithRate(cfg.RetailCRM.Rate),
	}
	opts = append(opts, clientOptions(a, p, cfg.RetailCRM.Timeout, retailcrm.WithTimeout, retailcrm.WithVersion, retailcrm.WithLogger,
		retailcrm.WithRetry(retailcrm.RetryPolicy{MaxAttempts: 2, InitialDelay: 300 * time.Millisecond, MaxDelay: time.Second}))...)
	opts = append(opts, extra...)
	return retailcrm.New(cfg.RetailCRM.URL, cfg.RetailCRM.APIKey, opts...)
}

// newBitrix builds the Bitrix24 client, trusting bitrix.ca_file in addition
// to the system roots for an on-premise portal with a private CA; extra
// options come last (a run adds the budget the previous run left).
func (a *app) newBitrix(cfg *config.Config, p patience, extra ...bitrix.Option) (*bitrix.Client, error) {
	opts := []bitrix.Option{bitrix.WithRate(cfg.Bitrix.Rate, cfg.Bitrix.Burst)}
	opts = append(opts, clientOptions(a, p, cfg.Bitrix.Timeout, bitrix.WithTimeout, bitrix.WithVersion, bitrix.WithLogger,
		bitrix.WithRetry(bitrix.RetryPolicy{MaxAttempts: 2, InitialDelay: 300 * time.Millisecond, MaxDelay: time.Second}))...)
	var base http.RoundTripper
	if cfg.Bitrix.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(cfg.Bitrix.CAFile)
		if err != nil {
			return nil, fmt.Errorf("bitrix.ca_file: %w: %w", err, config.ErrInvalid)
		}
		pool.AppendCertsFromPEM(pem)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		base = tr
	}
	opts = append(opts, bitrix.WithHTTPClient(&http.Client{Transport: a.apis.Transport(runs.APIBitrix, base)}))
	opts = append(opts, extra...)
	return bitrix.New(cfg.Bitrix.WebhookURL, opts...)
}

// webhook returns the configured inbound webhook taken apart. config.Load
// has validated the URL with bitrix.ParseWebhook, so the error cannot
// happen; without a URL the zero Webhook prints as "" and has user 0.
func webhook(cfg *config.Config) bitrix.Webhook {
	hook, _ := bitrix.ParseWebhook(cfg.Bitrix.WebhookURL)
	return hook
}
