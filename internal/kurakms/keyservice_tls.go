package kurakms

// kura keyservice tls-init: a throwaway certificate authority, a server
// certificate and a client certificate for serving the key service over
// TCP with mutual TLS, for a first setup or a test. An organisation's own
// PKI does better in production.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const tlsInitUsage = `usage: kura keyservice tls-init [--host NAMES] [--days N] DIR

Writes to DIR (created if needed) a new certificate authority (ca.crt,
ca.key), a server certificate it signed for NAMES (server.crt, server.key)
and a client certificate (client.crt, client.key). Private keys are mode
0600; existing files are not overwritten. Then:

  kura keyservice --network tcp --address HOST:PORT \
      --tls-cert DIR/server.crt --tls-key DIR/server.key --tls-client-ca DIR/ca.crt
  KURA_KEYSERVICE_TLS_CA=DIR/ca.crt KURA_KEYSERVICE_TLS_CERT=DIR/client.crt \
  KURA_KEYSERVICE_TLS_KEY=DIR/client.key kura decrypt --keyservice tcp://HOST:PORT FILE

flags:
`

func tlsInitMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kura keyservice tls-init", flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tlsInitUsage)
		fs.PrintDefaults()
	}
	hosts := fs.String("host", "127.0.0.1,localhost", "comma-separated DNS names and IP addresses of the server")
	days := fs.Int("days", 365, "validity of the certificates, in days")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 || *days < 1 {
		fmt.Fprint(stderr, tlsInitUsage)
		return 2
	}
	if err := tlsInit(fs.Arg(0), strings.Split(*hosts, ","), time.Duration(*days)*24*time.Hour); err != nil {
		fmt.Fprintf(stderr, "kura keyservice: error: tls-init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote ca.crt, ca.key, server.crt, server.key, client.crt and client.key to %s\n", fs.Arg(0))
	return 0
}

func tlsInit(dir string, hosts []string, validity time.Duration) error {
	names := []string{"ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key"}
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			return fmt.Errorf("%s already exists", filepath.Join(dir, n))
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	now := time.Now().Add(-time.Minute)
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "kura keyservice CA"},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caCert, caDER, err := makeCert(caTmpl, nil, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	files := map[string][]byte{"ca.crt": pemBlock("CERTIFICATE", caDER)}
	if files["ca.key"], err = keyPEM(caKey); err != nil {
		return err
	}
	for _, leaf := range []struct {
		name  string
		usage x509.ExtKeyUsage
	}{{"server", x509.ExtKeyUsageServerAuth}, {"client", x509.ExtKeyUsageClientAuth}} {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			Subject:     pkix.Name{CommonName: "kura keyservice " + leaf.name},
			NotBefore:   now,
			NotAfter:    now.Add(validity),
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{leaf.usage},
		}
		if leaf.name == "server" {
			for _, h := range hosts {
				if h = strings.TrimSpace(h); h == "" {
					continue
				} else if ip := net.ParseIP(h); ip != nil {
					tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
				} else {
					tmpl.DNSNames = append(tmpl.DNSNames, h)
				}
			}
		}
		_, der, err := makeCert(tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		files[leaf.name+".crt"] = pemBlock("CERTIFICATE", der)
		if files[leaf.name+".key"], err = keyPEM(key); err != nil {
			return err
		}
	}
	for _, n := range names {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(n, ".key") {
			mode = 0o600
		}
		f, err := os.OpenFile(filepath.Join(dir, n), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		_, err = f.Write(files[n])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func makeCert(tmpl, parent *x509.Certificate, pub *ecdsa.PublicKey, signer *ecdsa.PrivateKey) (*x509.Certificate, []byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, der, err
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pemBlock("PRIVATE KEY", der), nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
