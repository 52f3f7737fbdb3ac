package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"hpsandbox/smart"
)

// SigningKeyFile is the file in the data directory that holds the SMART
// server's token signing key, so that tokens survive a restart.
const SigningKeyFile = "smart-signing-key.pem"

// loadSigningKey reads the signing key from dir, creating it (mode 0600)
// on first start.
func loadSigningKey(dir string) (*smart.Keys, error) {
	return loadSigningKeyFile(filepath.Join(dir, SigningKeyFile))
}

// loadSigningKeyFile reads the signing key from path, creating it (mode
// 0600) when there is none: gateways given one file (a shared volume, a
// mounted secret) sign and verify with one key, whichever made it.
func loadSigningKeyFile(path string) (*smart.Keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createSigningKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the SMART signing key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s is not a PEM \"PRIVATE KEY\"; remove it to have a new key made (tokens issued with the old one stop working)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	rsaKey, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("%s does not hold an RSA private key; remove it to have a new key made", path)
	}
	return smart.NewKeysFrom(rsaKey)
}

func createSigningKey(path string) (*smart.Keys, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generating the SMART signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("encoding the SMART signing key: %w", err)
	}
	err = writeSecretFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), false)
	if errors.Is(err, fs.ErrExist) {
		return loadSigningKeyFile(path) // another process made it first
	}
	if err != nil {
		return nil, fmt.Errorf("writing the SMART signing key: %w", err)
	}
	return smart.NewKeysFrom(priv)
}
