package secretscan

import (
	"strings"
	"testing"
)

// typicalYAML is a realistic ~3 KB Kubernetes/app config with no secret:
// secret-looking keys holding references, as clean repositories have them.
func typicalYAML() string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: payments-api
  namespace: payments
  labels:
    app.kubernetes.io/name: payments-api
    app.kubernetes.io/part-of: checkout
    app.kubernetes.io/version: "2.14.3"
  annotations:
    deployment.kubernetes.io/revision: "42"
    prometheus.io/scrape: "true"
    prometheus.io/port: "9090"
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: payments-api
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/name: payments-api
    spec:
      serviceAccountName: payments-api
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        fsGroup: 10001
      containers:
        - name: api
          image: registry.example.com/checkout/payments-api:2.14.3
          imagePullPolicy: IfNotPresent
          args: ["--config", "/etc/payments/config.yaml", "--log-level", "info"]
          ports:
            - name: http
              containerPort: 8080
            - name: metrics
              containerPort: 9090
          env:
            - name: DATABASE_HOST
              value: postgres.payments.svc.cluster.local
            - name: DATABASE_USER
              value: payments
            - name: DATABASE_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: payments-db
                  key: password
            - name: STRIPE_API_KEY
              valueFrom:
                secretKeyRef:
                  name: payments-stripe
                  key: api-key
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: http://otel-collector.observability:4317
          resources:
            requests:
              cpu: 250m
              memory: 256Mi
            limits:
              cpu: "1"
              memory: 512Mi
          readinessProbe:
            httpGet:
              path: /healthz/ready
              port: http
            initialDelaySeconds: 5
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /healthz/live
              port: http
            failureThreshold: 3
          volumeMounts:
            - name: config
              mountPath: /etc/payments
              readOnly: true
            - name: tls
              mountPath: /etc/tls
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: payments-api-config
        - name: tls
          secret:
            secretName: payments-api-tls
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: payments-api-config
data:
  config.yaml: |
    server:
      listen: ":8080"
      read_timeout: 15s
      write_timeout: 15s
    database:
      host: postgres.payments.svc.cluster.local
      port: 5432
      name: payments
      password: ${DATABASE_PASSWORD}
      max_open_conns: 20
    auth:
      issuer: https://auth.example.com/
      audience: payments-api
      token_url: https://auth.example.com/oauth2/token
      jwks_url: https://auth.example.com/.well-known/jwks.json
    stripe:
      api_key: ${STRIPE_API_KEY}
      webhook_secret_ref: payments-stripe/webhook
    features:
      refunds: true
      partial_captures: false
`
}

// mixedCorpus is about size bytes of typical, clean repository content:
// YAML, JSON, dotenv and Go source.
func mixedCorpus(size int) []byte {
	json := `{
  "name": "checkout-web",
  "version": "3.2.1",
  "private": true,
  "scripts": {"build": "vite build", "test": "vitest run", "lint": "eslint ."},
  "dependencies": {"react": "^18.3.1", "react-dom": "^18.3.1", "js-tokens": "^4.0.0"},
  "auth": {"provider": "oidc", "clientId": "checkout-web", "scopes": ["openid", "profile"]},
  "apiBaseUrl": "https://api.example.com/v2"
}
`
	env := `# local development; real values come from the secret store
APP_ENV=development
LOG_LEVEL=debug
DATABASE_URL=postgres://payments@localhost:5432/payments
DATABASE_PASSWORD=${DATABASE_PASSWORD}
API_TOKEN=changeme
SESSION_SECRET=
`
	goSrc := `package auth

import (
	"context"
	"errors"
	"net/http"
)

// Token returns the bearer token of r, if any.
func Token(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", errors.New("no Authorization header")
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return "", errors.New("not a bearer token")
	}
	return token, nil
}

func (c *Client) refresh(ctx context.Context) error {
	tok, err := c.source.Token(ctx)
	if err != nil {
		return err
	}
	c.accessToken = tok.AccessToken
	return nil
}
`
	docs := []string{typicalYAML(), json, env, goSrc}
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(docs[i%len(docs)])
	}
	return []byte(b.String()[:size])
}

func TestBenchInputsAreClean(t *testing.T) {
	s := mustNew(t, Options{})
	if got := s.Scan([]byte(typicalYAML())); got != nil {
		t.Errorf("typical YAML: %v", got)
	}
	if got := s.Scan(mixedCorpus(1 << 20)); got != nil {
		t.Errorf("mixed corpus: %v", got)
	}
}

func BenchmarkScanTypicalFile(b *testing.B) {
	s := mustNew(b, Options{})
	in := []byte(typicalYAML())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s.Scan(in)
	}
}

func BenchmarkScan1MB(b *testing.B) {
	s := mustNew(b, Options{})
	in := mixedCorpus(1 << 20)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s.Scan(in)
	}
}

// BenchmarkScan1MBWithSecrets measures the slow path: a secret every ~4 KB.
func BenchmarkScan1MBWithSecrets(b *testing.B) {
	s := mustNew(b, Options{})
	clean := mixedCorpus(1 << 20)
	var in []byte
	for i := 0; i < len(clean); i += 4096 {
		in = append(in, clean[i:min(i+4096, len(clean))]...)
		in = append(in, "\npassword: "+fake(alnum, 20, uint64(i))+"\nid: AKIA"+fake(b32, 16, uint64(i))+"\n"...)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		s.Scan(in)
	}
}

// BenchmarkScanFilesParallel scans 3 KB files from every core, as kura
// scan does over a tree.
func BenchmarkScanFilesParallel(b *testing.B) {
	s := mustNew(b, Options{})
	in := []byte(typicalYAML())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Scan(in)
		}
	})
}
