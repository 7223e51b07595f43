package bitrix_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/bitrix/bitrixtest"
)

func newHTTPClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type rawCaller struct {
	t   *testing.T
	srv *bitrixtest.Server
	hc  *http.Client
}

func newRawCaller(t *testing.T, srv *bitrixtest.Server) *rawCaller {
	return &rawCaller{t: t, srv: srv, hc: newHTTPClient(t)}
}

func (r *rawCaller) postJSON(method string, body any) (int, string) {
	b, err := json.Marshal(body)
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := r.hc.Post(r.srv.WebhookURL()+method, "application/json", bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(r.t, resp.Body)
}

func (r *rawCaller) postForm(method, form string) (int, string) {
	resp, err := r.hc.Post(r.srv.WebhookURL()+method, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(r.t, resp.Body)
}
