package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/crmsync/crmsync/bitrix"
	"github.com/crmsync/crmsync/retailcrm"
	"github.com/crmsync/crmsync/sync/config"
)

// newRetailCRM builds the RetailCRM client from the configuration.
func (a *app) newRetailCRM(cfg *config.Config) (*retailcrm.Client, error) {
	return retailcrm.New(cfg.RetailCRM.URL, cfg.RetailCRM.APIKey,
		retailcrm.WithRate(cfg.RetailCRM.Rate),
		retailcrm.WithVersion(readVersion().Version),
		retailcrm.WithLogger(a.log),
	)
}

// newBitrix builds the Bitrix24 client, trusting bitrix.ca_file in addition
// to the system roots for an on-premise portal with a private CA.
func (a *app) newBitrix(cfg *config.Config) (*bitrix.Client, error) {
	opts := []bitrix.Option{
		bitrix.WithRate(cfg.Bitrix.Rate, cfg.Bitrix.Burst),
		bitrix.WithVersion(readVersion().Version),
		bitrix.WithLogger(a.log),
	}
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
		opts = append(opts, bitrix.WithHTTPClient(&http.Client{Transport: tr}))
	}
	return bitrix.New(cfg.Bitrix.WebhookURL, opts...)
}
