package bitrix

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/internal/redaction"
)

// Webhook is an inbound-webhook URL, https://PORTAL/rest/USER_ID/SECRET/,
// taken apart. It is the one place that reads that shape: the client, the
// configuration check, the redaction of secrets and push (which tells its
// own comments by the webhook's user) all go through ParseWebhook.
//
// Printing a Webhook (String, %v, %#v, slog) masks the secret; URL is the
// only way to the whole address.
type Webhook struct {
	// Base is the portal's address: scheme and host (with its port), no
	// path, e.g. https://example.bitrix24.ru.
	Base string
	// UserID is the Bitrix24 user the webhook acts as; what crmsync
	// writes through it carries that user as author.
	UserID int64
	// Secret is the webhook's code. Editing the webhook regenerates it.
	Secret string `json:"-"`
}

// Mask is what the webhook's secret is replaced with wherever it would be
// shown.
const Mask = redaction.Mask

// webhookPath is the path of an inbound webhook; the trailing slash is
// optional in what people paste.
var webhookPath = regexp.MustCompile(`^/rest/(\d+)/([^/]+)/?$`)

// ParseWebhook reads an inbound-webhook URL
// https://PORTAL/rest/USER_ID/SECRET/ (the trailing slash may be missing;
// surrounding space is not trimmed). Plain http is accepted only towards loopback hosts (the test fakes). The
// errors wrap ErrConfig and never contain the secret: a malformed URL may
// hold it anywhere, so they show only the scheme and host.
func ParseWebhook(raw string) (Webhook, error) {
	w, _, err := parseWebhook(raw)
	return w, err
}

// parseWebhook also returns the URL as the client calls it, with the
// trailing slash, so New keeps the address exactly as given.
func parseWebhook(raw string) (Webhook, *url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Webhook{}, nil, fmt.Errorf("%w: webhook URL does not parse", ErrConfig)
	}
	shown := u.Scheme + "://" + u.Host + "/…"
	if err := checkScheme(u); err != nil {
		return Webhook{}, nil, fmt.Errorf("%w: webhook URL %s: %w", ErrConfig, shown, err)
	}
	m := webhookPath.FindStringSubmatch(u.Path)
	var id int64
	if m != nil {
		id, err = strconv.ParseInt(m[1], 10, 64)
	}
	if m == nil || err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Webhook{}, nil, fmt.Errorf("%w: webhook URL %s is not https://PORTAL/rest/USER_ID/SECRET/", ErrConfig, shown)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return Webhook{Base: u.Scheme + "://" + u.Host, UserID: id, Secret: m[2]}, u, nil
}

// URL returns the whole webhook URL, secret included, with the trailing
// slash: https://PORTAL/rest/USER_ID/SECRET/. Only requests may use it.
func (w Webhook) URL() string {
	return w.Base + "/rest/" + strconv.FormatInt(w.UserID, 10) + "/" + w.Secret + "/"
}

// String returns the URL with the secret masked, for display:
// https://PORTAL/rest/USER_ID/***/. The zero Webhook (no URL configured)
// gives "".
func (w Webhook) String() string {
	if w == (Webhook{}) {
		return ""
	}
	return w.Base + "/rest/" + strconv.FormatInt(w.UserID, 10) + "/" + Mask + "/"
}

// GoString keeps %#v from printing the secret.
func (w Webhook) GoString() string {
	return fmt.Sprintf("bitrix.Webhook{Base: %q, UserID: %d, Secret: %q}", w.Base, w.UserID, Mask)
}

// LogValue keeps a logged Webhook masked whatever the handler.
func (w Webhook) LogValue() slog.Value { return slog.StringValue(w.String()) }

// webhookInText finds the path of an inbound webhook anywhere in a text
// (an error, a log line, a report), whatever the portal and the secret.
var webhookInText = regexp.MustCompile(`/rest/(\d+)/([^/\s"'?#]+)`)

// RedactWebhooks masks the secret segment of every inbound-webhook path in
// text: .../rest/1/SECRET/crm.deal.add becomes .../rest/1/***/crm.deal.add.
// It needs no secret, so it also hides webhooks nobody told it about.
func RedactWebhooks(text string) string {
	return webhookInText.ReplaceAllStringFunc(text, func(m string) string {
		sub := webhookInText.FindStringSubmatch(m)
		if sub[2] == Mask {
			return m
		}
		return "/rest/" + sub[1] + "/" + Mask
	})
}
