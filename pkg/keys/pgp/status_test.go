package pgp

import (
	"strings"
	"testing"
)

// Standard error of gpg 2.2.40 runs, as kura runs it (--status-fd 2,
// no --quiet), recorded.
const (
	statusDecrypted = `[GNUPG:] ENC_TO E89635113D0EADF5 18 0
[GNUPG:] KEY_CONSIDERED B189A36BBDE6C598459E3F6F9C298AD2AA95E403 0
[GNUPG:] DECRYPTION_KEY C6C6884D52223B150E8A24D5E89635113D0EADF5 B189A36BBDE6C598459E3F6F9C298AD2AA95E403 -
gpg: encrypted with 255-bit ECDH key, ID E89635113D0EADF5, created 2026-11-28
      "SOPS interop test key pgp2 (Public corpus, TEST ONLY) <pgp2-public@sops-interop.invalid>"
[GNUPG:] BEGIN_DECRYPTION
[GNUPG:] DECRYPTION_INFO 2 9 0
[GNUPG:] PLAINTEXT 62 1795897908 
[GNUPG:] PLAINTEXT_LENGTH 32
[GNUPG:] DECRYPTION_OKAY
[GNUPG:] GOODMDC
[GNUPG:] END_DECRYPTION
`
	statusNoSecKey = `[GNUPG:] ENC_TO E89635113D0EADF5 18 0
gpg: encrypted with ECDH key, ID E89635113D0EADF5
[GNUPG:] NO_SECKEY E89635113D0EADF5
[GNUPG:] BEGIN_DECRYPTION
[GNUPG:] DECRYPTION_FAILED
gpg: decryption failed: No secret key
[GNUPG:] END_DECRYPTION
`
	// The same with --quiet: gpg leaves NO_SECKEY out.
	statusNoSecKeyQuiet = `[GNUPG:] ENC_TO E89635113D0EADF5 18 0
[GNUPG:] BEGIN_DECRYPTION
[GNUPG:] DECRYPTION_FAILED
gpg: decryption failed: No secret key
[GNUPG:] END_DECRYPTION
`
	// A protected key in gpg, and pinentry without a terminal.
	statusNoPinentry = `[GNUPG:] ENC_TO D929BC24B2B3BB1D 18 0
[GNUPG:] KEY_CONSIDERED B65BBA9041B7178872AC66636496DF9628F1412A 0
[GNUPG:] PINENTRY_LAUNCHED 13261 curses 1.2.1 - xterm - - 0/0 -
gpg: encrypted with 255-bit ECDH key, ID D929BC24B2B3BB1D, created 2026-01-02
      "prot (TEST ONLY) <prot@kura.invalid>"
gpg: public key decryption failed: Inappropriate ioctl for device
[GNUPG:] ERROR pkdecrypt_failed 83918950
[GNUPG:] BEGIN_DECRYPTION
[GNUPG:] DECRYPTION_FAILED
gpg: decryption failed: No secret key
[GNUPG:] END_DECRYPTION
`
	// Two recipients, one held (wrong passphrase), one not.
	statusBadPassphrase = `[GNUPG:] ENC_TO 1111111111111111 1 0
[GNUPG:] ENC_TO E89635113D0EADF5 18 0
[GNUPG:] NO_SECKEY 1111111111111111
[GNUPG:] BAD_PASSPHRASE E89635113D0EADF5
gpg: public key decryption failed: Bad passphrase
[GNUPG:] ERROR pkdecrypt_failed 11
[GNUPG:] DECRYPTION_FAILED
gpg: decryption failed: No secret key
`
	statusNoData = "gpg: no valid OpenPGP data found.\n[GNUPG:] NODATA 1\n[GNUPG:] NODATA 3\n"
	// gpg -d of a message that is not encrypted: data, exit 0, no
	// DECRYPTION_OKAY.
	statusPlain = "[GNUPG:] PLAINTEXT 62 0 \n[GNUPG:] PLAINTEXT_LENGTH 32\n"
)

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stderr    string
		decrypted bool
		noKey     bool
		reason    string
	}{
		{"decrypted", statusDecrypted, true, false, ""},
		{"no secret key", statusNoSecKey, false, true, "decryption failed: No secret key"},
		{"no secret key, quiet", statusNoSecKeyQuiet, false, false, "decryption failed: No secret key"},
		{"no pinentry", statusNoPinentry, false, false, "public key decryption failed: Inappropriate ioctl for device"},
		{"bad passphrase", statusBadPassphrase, false, false, "bad passphrase"},
		{"no data", statusNoData, false, false, "no valid OpenPGP data found."},
		{"plain message", statusPlain, false, false, ""},
		{"CRLF", strings.ReplaceAll(statusNoSecKey, "\n", "\r\n"), false, true, "No secret key"},
		{"nothing", "", false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := parseStatus([]byte(tc.stderr))
			if st.decrypted() != tc.decrypted || st.noSecretKey() != tc.noKey {
				t.Errorf("decrypted %v, no secret key %v", st.decrypted(), st.noSecretKey())
			}
			if r := st.reason(); !strings.Contains(r, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", r, tc.reason)
			}
			oneLine(t, st.reason())
		})
	}
}

// TestCleanLog: log lines quoted in errors stay on one line, printable and
// short.
func TestCleanLog(t *testing.T) {
	long := strings.Repeat("é", 300)
	got := cleanLog(long)
	if len(got) > maxReason+len("…") || !strings.HasSuffix(got, "…") {
		t.Errorf("len %d: %q", len(got), got)
	}
	if got := cleanLog("a\x1b[31mb\tc"); strings.ContainsAny(got, "\x1b\t") {
		t.Errorf("control characters kept: %q", got)
	}
}
