package retailcrm

import "context"

type credentialsResponse struct {
	envelope
	Credentials
}

// Credentials reads the key's scopes and store access from the
// unversioned GET /api/credentials.
func (c *Client) Credentials(ctx context.Context) (*Credentials, error) {
	var r credentialsResponse
	if err := c.get(ctx, "/api/credentials", nil, &r); err != nil {
		return nil, err
	}
	return &r.Credentials, nil
}

type settingValue struct {
	Value string `json:"value"`
}

type settingsResponse struct {
	envelope
	Settings struct {
		Timezone        settingValue `json:"timezone"`
		DefaultCurrency settingValue `json:"default_currency"`
	} `json:"settings"`
}

// Settings reads the account settings; Settings.Location gives the zone
// every API date is written in.
func (c *Client) Settings(ctx context.Context) (*Settings, error) {
	var r settingsResponse
	if err := c.get(ctx, "/api/v5/settings", nil, &r); err != nil {
		return nil, err
	}
	return &Settings{Timezone: r.Settings.Timezone.Value, DefaultCurrency: r.Settings.DefaultCurrency.Value}, nil
}
