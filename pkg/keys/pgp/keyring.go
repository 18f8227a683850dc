package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/kura-secrets/kura/internal/keyperm"
	"github.com/kura-secrets/kura/internal/terminal"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// maxKeyFile bounds what is read from a key file or legacy keyring. A
// keyring of thousands of keys with their signatures fits.
const maxKeyFile = 64 << 20

// The legacy keyrings of GnuPG 1.x in the GnuPG home, which sops reads
// with go-crypto. GnuPG 2.1 and later keep public keys in pubring.kbx and
// secret keys in private-keys-v1.d/, which only gpg reads.
const (
	legacyPubring = "pubring.gpg"
	legacySecring = "secring.gpg"
)

// keyFile is one file of OpenPGP keys, loaded.
type keyFile struct {
	// name says where the keys came from, for messages: the variable
	// and the path, or the path of a legacy keyring.
	name     string
	entities openpgp.EntityList
	err      error // why it could not be read; then there are no entities
}

// loadKeyFile reads path. A legacy keyring that does not exist is no
// error (optional), it simply holds no keys; a file the user named must
// exist.
//
// A file holding a secret key that others may read gets a warning on
// stderr; the text read is cleared once parsed.
func loadKeyFile(name, path string, optional bool, stderr io.Writer) *keyFile {
	kf := &keyFile{name: name}
	data, st, err := readLimited(path)
	defer clear(data)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return kf
	}
	if err != nil {
		kf.err = fmt.Errorf("%s: %w", name, err)
		return kf
	}
	kf.entities, err = parseKeys(data)
	if err != nil {
		kf.err = fmt.Errorf("%s: %w", name, err)
	}
	if holdsSecretKey(kf.entities) {
		keyperm.Check(path, st, stderr)
	}
	return kf
}

// holdsSecretKey reports whether any key in list has secret key material.
func holdsSecretKey(list openpgp.EntityList) bool {
	for _, e := range list {
		if e.PrivateKey != nil {
			return true
		}
		for _, sub := range e.Subkeys {
			if sub.PrivateKey != nil {
				return true
			}
		}
	}
	return false
}

func readLimited(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, pathless(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, pathless(err)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, nil, pathless(err)
	}
	if len(b) > maxKeyFile {
		return nil, nil, errors.New("file too large for a key file")
	}
	return b, st, nil
}

// pathless drops the path from a file error whose message already names
// the file, keeping what the error is (errors.Is still sees
// fs.ErrNotExist).
func pathless(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

var armorStart = []byte("-----BEGIN PGP ")

// parseKeys reads OpenPGP keys, public or secret: binary packets as in a
// keyring or gpg --export, or one or more armored blocks one after another
// (cat pgp1.sec.asc pgp2.sec.asc works). Binary data is told by its first
// byte, which is a packet tag and so has its high bit set; armor is text.
//
// Errors describe the data, never quote it: a key file holds secrets.
func parseKeys(data []byte) (openpgp.EntityList, error) {
	if len(data) == 0 {
		return nil, errors.New("the file is empty")
	}
	if data[0]&0x80 != 0 {
		list, err := openpgp.ReadKeyRing(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("not an OpenPGP key file: %w", err)
		}
		if len(list) == 0 {
			return nil, errors.New("holds no OpenPGP keys")
		}
		return list, nil
	}
	var all openpgp.EntityList
	blocks := splitArmor(data)
	if len(blocks) == 0 {
		return nil, errors.New("holds no armored key block")
	}
	for n, b := range blocks {
		list, err := parseArmoredKeys(b)
		if err != nil {
			if len(blocks) > 1 {
				return nil, fmt.Errorf("armored block %d: %w", n+1, err)
			}
			return nil, err
		}
		all = append(all, list...)
	}
	return all, nil
}

func parseArmoredKeys(b []byte) (openpgp.EntityList, error) {
	block, err := armor.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("bad armor: %w", err)
	}
	if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
		return nil, fmt.Errorf("armored %q, not a PGP PUBLIC or PRIVATE KEY BLOCK", terminal.Printable(block.Type))
	}
	list, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, fmt.Errorf("not an OpenPGP key: %w", err)
	}
	if len(list) == 0 {
		return nil, errors.New("holds no OpenPGP keys")
	}
	return list, nil
}

// splitArmor cuts data before each line that starts an armored block, and
// drops what comes before the first: armor.Decode reads a single block and
// may read past its end.
func splitArmor(data []byte) [][]byte {
	var starts []int
	for i := 0; i < len(data); {
		j := bytes.Index(data[i:], armorStart)
		if j < 0 {
			break
		}
		if at := i + j; atLineStart(data, at) {
			starts = append(starts, at)
		}
		i += j + len(armorStart)
	}
	blocks := make([][]byte, len(starts))
	for n, s := range starts {
		end := len(data)
		if n+1 < len(starts) {
			end = starts[n+1]
		}
		blocks[n] = data[s:end]
	}
	return blocks
}

// atLineStart reports whether only blanks come between the start of the
// line and data[at]: armor.Decode ignores indentation.
func atLineStart(data []byte, at int) bool {
	for at > 0 && (data[at-1] == ' ' || data[at-1] == '\t') {
		at--
	}
	return at == 0 || data[at-1] == '\n' || data[at-1] == '\r'
}

// keyFiles returns the files of KURA_PGP_KEY_FILE, loaded on first use.
func (s *Source) keyFiles() []*keyFile {
	if s.files == nil {
		s.files = []*keyFile{}
		for _, p := range s.env.keyFiles() {
			s.files = append(s.files, loadKeyFile(KeyFileEnv+"="+p, p, false, s.env.Stderr))
		}
	}
	return s.files
}

// legacyRing returns $GNUPGHOME/<name>, loaded on first use, or nil when
// there is no GnuPG home.
func (s *Source) legacyRing(name string) *keyFile {
	if kf, ok := s.legacy[name]; ok {
		return kf
	}
	var kf *keyFile
	if home := s.env.gnupgHome(); home != "" {
		path := filepath.Join(home, name)
		kf = loadKeyFile(path, path, true, s.env.Stderr)
	}
	if s.legacy == nil {
		s.legacy = map[string]*keyFile{}
	}
	s.legacy[name] = kf
	return kf
}
